"""The input guard (symposium/input_guard.py): control characters, lengths and body sizes
are refused with a 4xx before anything reaches the database (on SQLite and PostgreSQL alike:
PostgreSQL cannot store NUL, and it enforces every String(n) length)."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Enum, String, select

from symposium.blueprints.admin import auth, events, participants, users
from symposium.blueprints.admin import certificates as admin_certificates
from symposium.blueprints.admin.messages import MessageForm
from symposium.blueprints.referrals import ReferralForm
from symposium.blueprints.registration import RegistrationForm
from symposium.models import Base, Registration, Role
from symposium.services.accounts import access
from symposium.services.checkin import presence
from symposium.services.core import idempotency
from symposium.services.mail import messages as mail_messages
from symposium.services.programme import event_files
from symposium.services.referrals import intake
from symposium.services.registration import validation
from tests.backoffice.test_admin import PASSWORD, login, token
from tests.conftest import make_app, registration_data, row_counts
from tests.core.test_database_unavailable import NOBODY_LISTENS
from tests.registration.test_registration_pages import URL, open_form, person, submit


@pytest.fixture
def admin(client: FlaskClient, db, small_event, clock) -> FlaskClient:  # type: ignore[no-untyped-def]
    access.create_user(db.session, "admin@example.org", Role.ADMIN, clock.now, password=PASSWORD)
    db.session.commit()
    assert login(client, "admin@example.org").status_code == 303
    return client


# --------------------------------------------------------------------------- control characters


@pytest.mark.parametrize(
    "path",
    [
        "/events/%00/",
        "/events/%00/register",
        "/events/klein%00/register?profession=gz-psycholoog",
        "/events/klein/?theme=%00",
        "/events/klein/register?profession=%00",
        "/events/klein/?%00=1",
        "/r/%00",
        "/admin/login?next=%01",
    ],
)
def test_control_characters_in_the_address_are_a_clear_400(
    client: FlaskClient, small_event, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 400
    assert "onzichtbare stuurtekens" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "path", ["/api/v1/events/%00", "/api/v1/events/klein?x=%7f", "/api/v1/events/%1b"]
)
def test_control_characters_in_an_api_address_are_a_400_with_a_code(
    client: FlaskClient, small_event, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_text"


def test_nul_in_the_slug_of_an_api_registration(client: FlaskClient, db, small_event) -> None:
    before = row_counts(db.session)
    response = client.post("/api/v1/events/%00/registrations", json=registration_data(1))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_text"
    assert row_counts(db.session) == before


@pytest.mark.parametrize(
    "body",
    [
        registration_data(1) | {"unknown\x00": 1},
        registration_data(1) | {"extra": ["a", {"b": "\x00"}]},
        registration_data(1, identifiers={"BIG": "1234567890\x00"}),
        registration_data(1) | {"language": "n\x1bl"},
    ],
)
def test_control_characters_anywhere_in_a_json_body(client: FlaskClient, db, small_event, body):
    before = row_counts(db.session)
    response = client.post("/api/v1/events/klein/registrations", json=body)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_text"
    assert row_counts(db.session) == before


def test_control_character_in_a_header(client: FlaskClient, db, small_event) -> None:
    before = row_counts(db.session)
    response = client.post(
        "/api/v1/events/klein/registrations",
        json=registration_data(1),
        headers={"Idempotency-Key": "abc\x01"},
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == {
        "code": "invalid_text",
        "message": "Idempotency-Key contains a control character; remove it.",
        "field": "Idempotency-Key",
    }
    assert row_counts(db.session) == before


@pytest.mark.parametrize("field", ["email", "password"])
def test_nul_in_the_sign_in_form(client: FlaskClient, db, small_event, field: str) -> None:
    page = client.get("/admin/login").get_data(as_text=True)
    data = {"csrf_token": token(page), "email": "a@example.org", "password": "x"}
    data[field] = "a\x00@example.org"
    response = client.post("/admin/login", data=data)
    assert response.status_code == 400
    assert "onzichtbare stuurtekens" in response.get_data(as_text=True)


def test_nul_in_the_password_reset_form(client: FlaskClient, db, small_event) -> None:
    page = client.get("/admin/password-reset").get_data(as_text=True)
    before = row_counts(db.session)
    response = client.post(
        "/admin/password-reset", data={"csrf_token": token(page), "email": "a\x00@example.org"}
    )
    assert response.status_code == 400
    assert row_counts(db.session) == before


@pytest.mark.parametrize("query", ["q=%00", "q=Piet%00", "sort=%00", "page=%00"])
def test_nul_in_the_participant_search(admin: FlaskClient, query: str) -> None:
    response = admin.get(f"/admin/events/klein/participants/?{query}")
    assert response.status_code == 400


def test_nul_in_the_admin_event_address(admin: FlaskClient) -> None:
    assert admin.get("/admin/events/%00/").status_code == 400


@pytest.mark.parametrize(
    "fields",
    [
        {"submission_key": "abc\x00"},
        {"name": "Piet\x00"},
        {"needs": "geen\x0bvlees"},
        {"unknown\x00": "1"},
    ],
)
def test_control_characters_in_the_registration_form(client, db, small_event, fields) -> None:
    before = row_counts(db.session)
    response = submit(client, open_form(client) | person("1") | fields)
    assert response.status_code == 400
    assert "onzichtbare stuurtekens" in response.get_data(as_text=True)
    assert row_counts(db.session) == before


def test_tabs_and_newlines_pass_in_multi_line_fields(client, db, small_event) -> None:
    response = submit(client, open_form(client) | person("1", needs="geen vlees\r\n\tgeen vis"))
    assert response.status_code == 303
    assert db.session.scalars(select(Registration)).one().needs == "geen vlees\r\n\tgeen vis"


# --------------------------------------------------------------------------- lengths


@pytest.mark.parametrize("key", ["k" * 65, "k" * 5000, "not a key!", ""])
def test_a_forged_hidden_key_is_refused_with_a_message(client, db, small_event, key) -> None:
    before = row_counts(db.session)
    fields = open_form(client) | person("1") | {"submission_key": key}
    if not key:
        del fields["submission_key"]
    response = submit(client, fields)
    if not key:  # no key: an old form, registered without double-submit protection
        assert response.status_code == 303
        return
    assert response.status_code == 422
    assert "Dit formulier kon niet worden gecontroleerd" in response.get_data(as_text=True)
    assert row_counts(db.session) == before


def string_columns() -> dict[str, int]:
    return {
        f"{table.name}.{column.name}": column.type.length
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, String)
        and not isinstance(column.type, Enum)
        and column.type.length
    }


def form_limit(form: type, name: str) -> int:
    """The ``Length(max=…)`` of a form class's field."""
    unbound = getattr(form, name)
    (limit,) = [v.max for v in unbound.kwargs.get("validators", ()) if hasattr(v, "max")]
    return limit


REGISTRATION = validation.LIMITS
# Filled by the system, never from input (tokens, hashes, codes, enum values, stamps).
SYSTEM = "system"
# From an event file only (loaded by the CLI): event_files bounds each with max_length.
EVENT_FILE = "event file"
# The catalogue is the system's own (catalogue.py), not input.
CATALOGUE = "catalogue"

# Every String(n) column, and what bounds the input that reaches it (at most n characters).
BOUNDS: dict[str, object] = {
    "users.email": [form_limit(users.UserForm, "email"), form_limit(auth.LoginForm, "email")],
    "users.name": [form_limit(users.UserForm, "name")],
    "users.password_hash": SYSTEM,
    "users.session_token": SYSTEM,
    "idempotency_keys.scope": SYSTEM,
    "idempotency_keys.key": [idempotency.MAX_KEY_LENGTH],
    "idempotency_keys.request_hash": SYSTEM,
    "audit_entries.action": SYSTEM,
    "audit_entries.target": "clipped by audit.record",
    "registers.code": CATALOGUE,
    "registers.name": CATALOGUE,
    "registers.identifier_name_nl": CATALOGUE,
    "registers.identifier_name_en": CATALOGUE,
    "registers.identifier_pattern": CATALOGUE,
    "registers.big_code": CATALOGUE,
    "registers.short_name": CATALOGUE,
    "accreditations.body": EVENT_FILE,
    "accreditations.activity_id": EVENT_FILE,
    "list_exports.format": SYSTEM,
    # A certificate copies what it says from the registration, the event and the catalogue.
    "certificates.code": SYSTEM,
    "certificates.number": SYSTEM,
    "certificates.language": SYSTEM,
    "certificates.name": "copied from registrations.name",
    "certificates.profession": CATALOGUE,
    "certificate_designs.signatory_name": [
        form_limit(admin_certificates.DesignForm, "signatory_name")
    ],
    "certificate_designs.signatory_role": [
        form_limit(admin_certificates.DesignForm, "signatory_role")
    ],
    "certificate_designs.signature_type": SYSTEM,
    "professions.code": CATALOGUE,
    "professions.name_nl": CATALOGUE,
    "professions.name_en": CATALOGUE,
    "themes.code": CATALOGUE,
    "themes.family": CATALOGUE,
    "themes.name_nl": CATALOGUE,
    "themes.name_en": CATALOGUE,
    "events.slug": [form_limit(events.NewEventForm, "slug"), EVENT_FILE],
    "events.title": [
        form_limit(events.EventForm, "title"),
        form_limit(events.NewEventForm, "title"),
    ],
    "events.subtitle": [form_limit(events.EventForm, "subtitle")],
    "events.venue": [form_limit(events.EventForm, "venue")],
    "events.address": [form_limit(events.EventForm, "address")],
    "events.timezone": EVENT_FILE,
    "events.organiser_name": EVENT_FILE,
    "events.organiser_email": EVENT_FILE,
    "events.organiser_phone": EVENT_FILE,
    "events.programme_stamp": SYSTEM,
    "events.accent_colour": "branding.checked_accent: #rrggbb or empty, never longer",
    "event_logos.content_type": SYSTEM,  # from the image's own bytes (branding.checked_logo)
    "event_logos.digest": SYSTEM,  # a SHA-256
    "rounds.key": [form_limit(events.RoundForm, "key")],
    "rounds.title": [form_limit(events.RoundForm, "title")],
    "sessions.key": [form_limit(events.NewSessionFields, "key")],
    "sessions.title": [form_limit(events.SessionForm, "title")],
    "sessions.room": [form_limit(events.SessionForm, "room")],
    "meetings.key": EVENT_FILE,
    "meetings.title": EVENT_FILE,
    "meetings.room": EVENT_FILE,
    "outbox.kind": SYSTEM,
    "outbox.to_address": [form_limit(RegistrationForm, "email"), 254],
    "outbox.language": SYSTEM,
    "outbox.subject": "a fixed text around one title of at most 200",
    "outbox.calendar_method": SYSTEM,
    "outbox.message_id": SYSTEM,
    "outbox.qr_code": SYSTEM,  # services.checkin.tickets.LENGTH
    "registrations.email": [form_limit(RegistrationForm, "email")],
    "registrations.name": [REGISTRATION["name"], form_limit(RegistrationForm, "name")],
    "registrations.organisation": [REGISTRATION["organisation"]],
    "registrations.phone": [REGISTRATION["phone"]],
    "registrations.language": [len(max(validation.LANGUAGES, key=len))],
    "registrations.token_nonce": SYSTEM,
    "registrations.token_hash": SYSTEM,
    "registrations.feed_nonce": SYSTEM,
    "registrations.feed_token_hash": SYSTEM,
    "registrations.privacy_version": SYSTEM,  # statement.version_of, never what was typed
    "registrations.checkin_code": SYSTEM,  # services.checkin.tickets.LENGTH
    "registrations.submission_key": [64],  # validation.SUBMISSION_KEY
    "checkin_scans.client_id": [presence.CLIENT_ID_LENGTH],  # presence.check_client_id
    "checkin_scans.direction": SYSTEM,  # presence.Direction
    "checkin_scans.verdict": SYSTEM,  # presence.Verdict
    "checkin_scans.reason": SYSTEM,  # presence.Reason
    "door_tokens.token_hash": SYSTEM,  # a SHA-256
    "door_tokens.label": [120],  # door_tokens.create cuts it (a CLI option, no form)
    "enrolment_changes.from_status": SYSTEM,
    "enrolment_changes.to_status": SYSTEM,
    "enrolment_changes.reason": SYSTEM,
    "outbox.list_unsubscribe": SYSTEM,  # BASE_URL and a fixed-length token
    "organiser_messages.subject": [mail_messages.SUBJECT_LIMIT, form_limit(MessageForm, "subject")],
    "organiser_messages.key": [64],  # MessageForm.key's Regexp, or a token of 32
    # referrals.intake.problems checks each against LIMITS, the form against its Length
    **{
        f"referrals.{name}": [limit, form_limit(ReferralForm, name)]
        for name, limit in intake.LIMITS.items()
    },
    "referrals.reference": SYSTEM,  # intake.reference
    "referrals.submission_key": [64],  # intake.SUBMISSION_KEY
    "referrals.language": SYSTEM,  # nl or en, the page's language
    "referrals.referrer_profession": SYSTEM,  # a key of intake.PROFESSIONS
    "referrals.client_language": SYSTEM,  # a key of intake.LANGUAGES
    "referrals.agb_code": [8],  # intake.AGB
}


def test_every_string_column_reached_from_input_is_bounded_before_the_database() -> None:
    """A new String(n) column fails here until someone says what bounds its input."""
    columns = string_columns()
    assert set(BOUNDS) == set(columns), "add the new column to BOUNDS"
    for name, bounds in BOUNDS.items():
        if isinstance(bounds, list):
            numbers = [b for b in bounds if isinstance(b, int)]
            assert numbers and all(b <= columns[name] for b in numbers), (name, bounds)
    assert validation.SUBMISSION_KEY.fullmatch("k" * 64)
    assert not validation.SUBMISSION_KEY.fullmatch("k" * 65)
    assert participants.SearchForm and event_files  # the search is a read, bounded by its form


def test_a_long_address_in_the_audit_trail_is_clipped(admin: FlaskClient, db) -> None:
    """ "user <email>" is longer than the audit column (200) for a long, valid address."""
    page = admin.get("/admin/users").get_data(as_text=True)
    email = "a" * 59 + "@" + ".".join(["b" * 60] * 3) + ".nl"
    assert len(email) == 245
    response = admin.post(
        "/admin/users",
        data={"csrf_token": token(page), "email": email, "name": "A", "role": "admin", "event": ""},
    )
    assert response.status_code in (200, 303), response.status_code
    assert (
        len(db.session.scalars(select(Base.metadata.tables["audit_entries"].c.target)).all()[-1])
        <= 200
    )


# --------------------------------------------------------------------------- sizes and methods


def test_a_huge_urlencoded_body_is_a_413_page(client: FlaskClient, db, small_event) -> None:
    before = row_counts(db.session)
    fields = open_form(client) | person("1", needs="x" * 8_000_000)
    response = submit(client, fields)
    assert response.status_code == 413
    assert "kB" in response.get_data(as_text=True)
    assert row_counts(db.session) == before


def test_a_huge_json_body_is_a_413_with_a_code(client: FlaskClient, db, small_event) -> None:
    before = row_counts(db.session)
    response = client.post(
        "/api/v1/events/klein/registrations",
        data=json.dumps(registration_data(1, needs="x" * 2_000_000)),
        content_type="application/json",
    )
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "body_too_large"
    assert row_counts(db.session) == before


def test_a_405_from_the_api_says_which_methods_are_allowed(client: FlaskClient, small_event):
    response = client.delete("/api/v1/events/klein")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "HEAD"}
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    posted = client.get("/api/v1/events/klein/registrations")
    assert posted.status_code == 405 and "POST" in posted.headers["Allow"]


def test_registration_form_page_is_unchanged_for_normal_input(client, small_event) -> None:
    assert client.get(URL + "?profession=gz-psycholoog").status_code == 200


@pytest.mark.parametrize("value", ["²", "٣", "9" * 5000, "99999999999999999999", "-1", " 1"])
def test_ids_from_forms_are_ascii_numbers_that_fit_a_column(client, db, small_event, value):
    """``"²".isdigit()`` is true and ``int("²")`` fails: that was a 500 on the manage page."""
    response = submit(client, open_form(client) | person("1"))
    manage = response.headers["Location"].split("?")[0]
    page = client.get(manage).get_data(as_text=True)
    before = row_counts(db.session)
    for action, name in (("change", "session_id"), ("cancel-session", "enrolment_id")):
        answer = client.post(f"{manage}/{action}", data={"csrf_token": token(page), name: value})
        assert answer.status_code == 400
    assert row_counts(db.session) == before


def test_a_forged_host_is_a_plain_400_before_any_page_is_rendered(
    client: FlaskClient, db, small_event
) -> None:
    """Without a trusted Host no URL can be built, so no template can render: the guard's
    400 page, the 413 page and the database pages must not be tried (they raised)."""
    forged = {"Host": "evil.example"}
    for response in (
        client.get("/events/klein/?q=a%01", headers=forged),
        client.post("/events/klein/register", data={"needs": "x" * 2_000_000}, headers=forged),
        client.post("/api/v1/events/klein/registrations", json={"n": "\x00"}, headers=forged),
    ):
        assert response.status_code == 400
        assert "evil.example" in response.get_data(as_text=True)  # "... is not trusted"


def test_a_forged_host_while_the_database_is_down_is_a_400() -> None:
    response = (
        make_app(NOBODY_LISTENS)
        .test_client()
        .get("/events/klein/", headers={"Host": "evil.example"})
    )
    assert response.status_code == 400
