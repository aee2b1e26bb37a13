"""Back-office: accounts, sign-in, password reset, capacity, and authorization of every route."""

import re
from datetime import timedelta
from typing import ClassVar

import jinja2
import pytest
import werkzeug.security
from sqlalchemy import select

from symposium.models import Enrolment, Event, OutboxMessage, Role, Session, User
from symposium.services.accounts import access
from symposium.services.mail import render
from symposium.services.registration import lifecycle, validation
from tests.conftest import FreshContextClient, make_app, registration_data

PASSWORD = "correct horse battery"


def token(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]


def login(client, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    page = client.get("/admin/login").get_data(as_text=True)
    data = {"csrf_token": token(page), "email": email, "password": password}
    return client.post("/admin/login", data=data)


@pytest.fixture
def people(app, db, small_event, load_example, clock):  # type: ignore[no-untyped-def]
    """admin, organiser of "klein", organiser of another event, door of "klein"."""
    load_example("7roses-symposium.toml")
    klein = db.session.get(Event, small_event["event"])
    other = db.session.scalars(select(Event).where(Event.slug == "7roses-2027")).one()
    made = {}
    for key, role, event in [
        ("admin", Role.ADMIN, None),
        ("organiser", Role.ORGANISER, klein),
        ("other", Role.ORGANISER, other),
        ("door", Role.DOOR, klein),
    ]:
        made[key], _ = access.create_user(
            db.session, f"{key}@example.org", role, clock.now, event=event, password=PASSWORD
        )
    db.session.commit()
    return made


def test_sign_in_and_out(client, people) -> None:
    assert client.get("/admin/").status_code == 302
    wrong = login(client, "organiser@example.org", "nope")
    assert wrong.status_code == 422
    assert "Onbekend e-mailadres of verkeerd wachtwoord." in wrong.get_data(as_text=True)
    response = login(client, "organiser@example.org")
    assert response.status_code == 303 and response.headers["Location"] == "/admin/"
    home = client.get("/admin/").get_data(as_text=True)
    assert "Klein symposium" in home and "7ROSES" not in home
    client.post("/admin/logout", data={"csrf_token": token(home)})
    assert client.get("/admin/").status_code == 302


def test_next_parameter_never_leaves_the_site(client, people) -> None:
    page = client.get("/admin/login").get_data(as_text=True)
    data = {"csrf_token": token(page), "email": "admin@example.org", "password": PASSWORD}
    response = client.post("/admin/login?next=//evil.example/", data=data)
    assert response.headers["Location"] == "/admin/"


def test_password_is_hashed_with_scrypt(db, people) -> None:
    user = db.session.scalars(select(User).where(User.email == "admin@example.org")).one()
    assert user.password_hash.startswith("scrypt:") and PASSWORD not in user.password_hash


def test_password_reset_link_works_once_and_expires(client, db, people, clock) -> None:
    page = client.get("/admin/password-reset").get_data(as_text=True)
    for address in ("organiser@example.org", "nobody@example.org"):
        response = client.post(
            "/admin/password-reset", data={"csrf_token": token(page), "email": address}
        )
        assert response.status_code == 303  # the same answer for unknown addresses
    render.render_pending(db.session)  # what the mail worker does
    db.session.commit()
    (mail,) = db.session.scalars(select(OutboxMessage)).all()
    assert mail.to_address == "organiser@example.org"
    link = re.search(r"http://localhost(/admin/password-reset/\S+)", mail.body_text)[1]

    form = client.get(link).get_data(as_text=True)
    new = {
        "csrf_token": token(form),
        "password": "a new long secret",
        "confirm": "a new long secret",
    }
    assert client.post(link, data=new).status_code == 303
    assert login(client, "organiser@example.org", "a new long secret").status_code == 303
    assert client.get(link).status_code == 404  # used once

    client.post(
        "/admin/password-reset", data={"csrf_token": token(page), "email": "door@example.org"}
    )
    render.render_pending(db.session)
    mails = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    late = re.search(r"http://localhost(/admin/password-reset/\S+)", mails[-1].body_text)[1]
    clock.now += timedelta(hours=1, seconds=1)
    assert client.get(late).status_code == 404  # expired


def test_login_is_rate_limited(migrated_url, clock, people) -> None:
    app = make_app(
        migrated_url, CLOCK=clock, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="2 per minute"
    )
    app.test_client_class = FreshContextClient
    client = app.test_client()
    with app.app_context():
        codes = [login(client, "admin@example.org", "wrong").status_code for _ in range(3)]
    assert codes == [422, 422, 429]


def test_secure_cookies_in_production(tmp_path) -> None:
    from symposium import create_app

    production = create_app({"SECRET_KEY": "x"}, instance_path=str(tmp_path))
    assert (
        production.config["SESSION_COOKIE_SECURE"] and production.config["REMEMBER_COOKIE_SECURE"]
    )
    assert production.config["SESSION_COOKIE_HTTPONLY"]
    assert production.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_raising_capacity_promotes_and_lowering_below_confirmed_is_refused(
    client, db, people, small_event, clock
) -> None:
    event = db.session.get(Event, small_event["event"])
    ook = small_event["ook-r2"]
    for n in range(3):
        data = validation.RegistrationInput(**registration_data(n), sessions=[ook])
        lifecycle.register(db.session, event, data, clock.now, "test")
        db.session.commit()
    login(client, "organiser@example.org")
    page = client.get("/admin/events/klein/").get_data(as_text=True)
    assert 'class="full"' in page
    form = {"csrf_token": token(page), f"s{ook}-capacity": "2"}
    response = client.post(f"/admin/events/klein/sessions/{ook}/capacity", data=form)
    assert response.status_code == 303
    page = client.get("/admin/events/klein/").get_data(as_text=True)
    assert "1 gepromoveerd vanaf de wachtlijst" in page
    db.session.expire_all()
    statuses = db.session.scalars(
        select(Enrolment.status).where(Enrolment.session_id == ook).order_by(Enrolment.id)
    ).all()
    assert statuses == ["confirmed", "confirmed", "waitlisted"]

    form[f"s{ook}-capacity"] = "1"
    client.post(f"/admin/events/klein/sessions/{ook}/capacity", data=form)
    page = client.get("/admin/events/klein/").get_data(as_text=True)
    assert "2 plaatsen zijn al bevestigd" in page
    assert db.session.get(Session, ook).capacity == 2


def test_create_user_command(app, db) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "boss@example.org", "--role", "admin",
                                 "--generate-password"])  # fmt: skip
    assert result.exit_code == 0, result.output
    generated = re.search(r"shown only now\): (\S+)", result.output)[1]
    user = db.session.scalars(select(User).where(User.email == "boss@example.org")).one()
    assert user.check_password(generated)
    prompted = runner.invoke(
        args=["create-user", "door@example.org", "--role", "door"],
        input="a door password\na door password\n",
    )
    assert prompted.exit_code == 0, prompted.output
    refused = runner.invoke(args=["create-user", "x@example.org", "--role", "admin",
                                  "--event", "nope", "--generate-password"])  # fmt: skip
    assert refused.exit_code != 0 and "no event" in refused.output


# --------------------------------------------------------------------------- authorization

EXPECTED = {
    # permission -> personas that may pass (anonymous always goes to the login page)
    access.SIGNED_IN: {"admin", "organiser", "other", "door"},
    access.MANAGE: {"admin", "organiser"},
    access.CHECKIN: {"admin", "organiser", "door"},
    access.USERS: {"admin"},
    access.CREATE_EVENT: {"admin"},
    # "klein" is a symposium: its organiser has no inbox (admins get 404, it has none).
    access.REFERRALS: {"admin"},
}


PERSONAS = ["anonymous", "admin", "organiser", "other", "door"]


def admin_rules(app):  # type: ignore[no-untyped-def]
    """The back-office's routes and the door's (check-in): each declares who may use it."""
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith(("admin.", "door."))]


def test_every_back_office_route_declares_who_may_use_it(app) -> None:
    for rule in admin_rules(app):
        view = app.view_functions[rule.endpoint]
        permission = getattr(view, "permission", None)
        assert permission in {*EXPECTED, "public"}, f"{rule.rule} declares no access rule"


@pytest.fixture
def quick_hashes(monkeypatch):  # type: ignore[no-untyped-def]
    """Cheap password hashes for tests that sign in as every persona.

    scrypt costs a quarter of a second per sign-in, which is the point in production and
    checked by test_password_is_hashed_with_scrypt; authorization tests need only the sign-in.
    """
    from symposium.models import account

    def generate(password: str) -> str:
        return werkzeug.security.generate_password_hash(password, method="pbkdf2:sha256:1")

    monkeypatch.setattr(account, "generate_password_hash", generate)


class _SharedBytecode(jinja2.BytecodeCache):
    """Compiled templates kept for the whole run (Jinja checks each template's source)."""

    store: ClassVar[dict[str, bytes]] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.store:
            bucket.bytecode_from_string(self.store[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.store[bucket.key] = bucket.bytecode_to_string()


@pytest.fixture
def compiled_templates(app):  # type: ignore[no-untyped-def]
    """Every persona renders the same pages in a fresh app: compile each template once."""
    app.jinja_env.bytecode_cache = _SharedBytecode()


@pytest.mark.parametrize("persona", PERSONAS)
def test_walk_every_route_as_every_persona(
    quick_hashes, compiled_templates, persona, app, db, people, small_event, clock
) -> None:
    """Every non-public back-office route, as one persona, on data of its own.

    Each persona gets fresh tables (this test's fixtures), so what an earlier persona posted
    cannot change what a later one sees; within the walk every request comes from a new
    client that carries only the persona's sign-in cookie.
    """
    event = db.session.get(Event, small_event["event"])
    data = validation.RegistrationInput(**registration_data(1), sessions=[small_event["klein"]])
    registration = lifecycle.register(db.session, event, data, clock.now, "test").registration
    db.session.commit()
    values = {
        "slug": "klein",
        "session_id": small_event["klein"],
        "token": "x",
        "registration_id": registration.id,
        "enrolment_id": registration.enrolments[0].id,
        "round_id": event.rounds[0].id,
        "membership_id": people["door"].memberships[0].id,
        "code": "GAIA",
        "fmt": "txt",
        "certificate_id": 1,  # none issued: 404 for whoever may look
        "referral_id": 1,  # a symposium has none: 404 for admins
    }
    signed_in = app.test_client()
    if persona != "anonymous":
        assert login(signed_in, f"{persona}@example.org").status_code == 303
    csrf = token(signed_in.get("/admin/login").get_data(as_text=True))
    cookie = signed_in.get_cookie(app.config["SESSION_COOKIE_NAME"])

    checked = 0
    for rule in admin_rules(app):
        permission = app.view_functions[rule.endpoint].permission
        if permission == "public":
            continue
        url = rule.build(values, append_unknown=False)[1]
        method = "GET" if "GET" in rule.methods else "POST"
        client = app.test_client()
        client.set_cookie(cookie.key, cookie.value)
        data = {"csrf_token": csrf} if method == "POST" else None
        response = client.open(url, method=method, data=data)
        where = f"{method} {url} as {persona}"
        if persona == "anonymous":
            assert response.status_code == 302, where
            assert response.headers["Location"].startswith("/admin/login"), where
        elif persona in EXPECTED[permission]:
            assert response.status_code not in (302, 403) and response.status_code < 500, where
        else:
            assert response.status_code == 403, where
        checked += 1
    assert checked >= 10


def test_admin_gives_roles_and_new_accounts_choose_their_password(
    client, db, people, small_event
) -> None:
    login(client, "admin@example.org")
    page = client.get("/admin/users").get_data(as_text=True)
    response = client.post(
        "/admin/users",
        data={"csrf_token": token(page), "email": "new@example.org", "name": "Nieuw",
              "role": "organiser", "event": "klein"},
    )  # fmt: skip
    assert response.status_code == 303
    render.render_pending(db.session)
    (mail,) = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "account_created")
    ).all()
    link = re.search(r"http://localhost(/admin/password-reset/\S+)", mail.body_text)[1]
    fresh = client.application.test_client()
    form = fresh.get(link).get_data(as_text=True)
    fresh.post(link, data={"csrf_token": token(form), "password": "mijn eigen wachtwoord",
                           "confirm": "mijn eigen wachtwoord"})  # fmt: skip
    assert login(fresh, "new@example.org", "mijn eigen wachtwoord").status_code == 303
    assert fresh.get("/admin/events/klein/").status_code == 200

    new = db.session.scalars(select(User).where(User.email == "new@example.org")).one()
    page = client.get("/admin/users").get_data(as_text=True)
    client.post(f"/admin/users/roles/{new.memberships[0].id}/revoke",
                data={"csrf_token": token(page)})  # fmt: skip
    # Taking the role away ended the sign-in; signed in again, the role is gone.
    assert fresh.get("/admin/events/klein/").headers["Location"].startswith("/admin/login")
    assert login(fresh, "new@example.org", "mijn eigen wachtwoord").status_code == 303
    assert fresh.get("/admin/events/klein/").status_code == 403


def test_an_empty_capacity_is_refused_and_no_limit_is_a_choice(
    client, db, people, small_event
) -> None:
    """Clearing the field no longer opens a workshop to everyone: the organiser ticks
    "No limit" to mean it, and the audit log says so in words."""
    klein = small_event["klein"]  # 10 places
    login(client, "organiser@example.org")
    page = client.get("/admin/events/klein/").get_data(as_text=True)
    url = f"/admin/events/klein/sessions/{klein}/capacity"
    cleared = client.post(url, data={"csrf_token": token(page), f"s{klein}-capacity": ""})
    assert cleared.status_code == 422
    body = cleared.get_data(as_text=True)
    assert "Vul het aantal plaatsen in, of vink ‘Geen maximum’ aan." in body
    assert f'id="s{klein}-capacity-error"' in body and 'aria-invalid="true"' in body
    db.session.expire_all()
    assert db.session.get(Session, klein).capacity == 10

    both = client.post(url, data={"csrf_token": token(page), f"s{klein}-capacity": "12",
                                  f"s{klein}-unlimited": "y"})  # fmt: skip
    assert both.status_code == 422
    assert "Maak het aantal plaatsen leeg, of vink ‘Geen maximum’ uit." in both.get_data(
        as_text=True
    )

    chosen = client.post(url, data={"csrf_token": token(page), f"s{klein}-unlimited": "y"})
    assert chosen.status_code == 303
    db.session.expire_all()
    assert db.session.get(Session, klein).capacity is None
    page = client.get("/admin/events/klein/").get_data(as_text=True)
    assert re.search(
        rf'id="s{klein}-unlimited"[^>]* checked|checked[^>]*id="s{klein}-unlimited"', page
    )
    audit_page = client.get("/admin/events/klein/audit").get_data(as_text=True)
    assert "Capaciteit van “Kleine workshop” gewijzigd" in audit_page
    assert "Plaatsen: 10 → onbeperkt" in audit_page

    # The session form says the same.
    edit = f"/admin/events/klein/sessions/{klein}/edit"
    form_page = client.get(edit).get_data(as_text=True)
    data = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form_page))
    data.pop("unlimited", None)
    data["capacity"] = ""
    refused = client.post(edit, data=data)
    assert refused.status_code == 422
    assert "Vul het aantal plaatsen in, of vink ‘Geen maximum’ aan." in refused.get_data(
        as_text=True
    )
