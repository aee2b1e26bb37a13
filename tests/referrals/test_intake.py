"""The referral form: consent, what is stored, double submit, the AGB code, the receipt."""

from __future__ import annotations

import re

from sqlalchemy import select

from symposium.models import AuditEntry, OutboxMessage, Referral
from symposium.services.mail import delivery, render
from symposium.services.referrals import intake
from tests.conftest import row_counts
from tests.referrals.conftest import SLUG, form_data, fresh_form, post_referral


def test_only_a_published_series_takes_referrals(client, db, series) -> None:
    assert client.get(f"/events/{SLUG}/refer").status_code == 200
    assert client.get("/events/7roses-2027/refer").status_code == 404  # a symposium
    assert client.get("/events/no-such-event/refer").status_code == 404
    series.status = "draft"
    db.session.commit()
    assert client.get(f"/events/{SLUG}/refer").status_code == 404


def test_the_series_page_links_the_form_and_the_symposium_page_does_not(client, series) -> None:
    assert f"/events/{SLUG}/refer" in client.get(f"/events/{SLUG}/").get_data(as_text=True)
    assert "/refer" not in client.get("/events/7roses-2027/").get_data(as_text=True)


def test_without_consent_refused_next_to_the_field_and_nothing_stored(client, db, series) -> None:
    hidden = fresh_form(client)
    before = row_counts(db.session)
    response = post_referral(client, hidden, contact_consent=None)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    row = re.search(r'<div class="form-row has-error">\s*<label class="check"><input[^>]*'
                    r'id="contact_consent".*?</div>', page, re.S)  # fmt: skip
    assert row is not None, page
    assert 'id="contact_consent-error"' in row[0]
    assert "agreed to be contacted by the coordinator" in row[0]
    assert row_counts(db.session) == before
    # What was typed stays in the form.
    assert 'value="Dr. Anna Huisarts"' in page


def test_a_referral_stores_no_more_than_the_form_asked(client, db, series, clock) -> None:
    before = row_counts(db.session)
    response = post_referral(client)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "WOR-2026-0001" in page
    after = row_counts(db.session)
    changed = {t for t in after if after[t] != before[t]}
    assert changed == {"referrals", "outbox", "audit_entries"}
    (referral,) = db.session.scalars(select(Referral)).all()
    stored = {c.key: getattr(referral, c.key) for c in Referral.__table__.columns}
    assert stored == {
        "id": referral.id, "event_id": series.id, "number": 1, "reference": "WOR-2026-0001",
        "submission_key": stored["submission_key"], "referred_at": clock.now,
        "language": "en",
        "referrer_name": "Dr. Anna Huisarts", "referrer_organisation": "Praktijk De Linde",
        "referrer_profession": "huisarts", "referrer_email": "anna@praktijk.example.org",
        "referrer_phone": "020 555 12 34", "agb_code": "01234567",
        "client_name": "Samira", "client_phone": "06 11 22 33 44", "client_email": "",
        "client_language": "ar", "themes": ["eenzaamheid"],
        "need": "Slaapt slecht sinds de scheiding, piekert veel.", "feedback_consent": True,
        "state": "new", "state_changed_at": clock.now, "group_id": None, "closed_at": None,
        "anonymised_at": None,
    }  # fmt: skip
    # The audit trail names the reference only.
    (entry,) = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action.like("referral%"))
    ).all()
    assert entry.action == "referral_received" and entry.target == "referral WOR-2026-0001"


def test_double_submit_makes_one_referral(client, db, series) -> None:
    hidden = fresh_form(client)
    first = post_referral(client, hidden)
    second = post_referral(client, hidden)
    assert first.status_code == second.status_code == 200
    assert "WOR-2026-0001" in second.get_data(as_text=True)
    assert db.session.scalar(select(Referral.id).where(Referral.number == 2)) is None
    assert len(db.session.scalars(select(OutboxMessage)).all()) == 1
    # A new form is a new referral, with the next number.
    assert "WOR-2026-0002" in post_referral(client).get_data(as_text=True)


def test_agb_code_is_optional_and_exactly_eight_digits(client, db, series) -> None:
    for wrong in ("1234567", "123456789", "abcdefgh", "1234 5678"):
        response = post_referral(client, agb_code=wrong)
        assert response.status_code == 422, wrong
        assert 'id="agb_code-error"' in response.get_data(as_text=True)
    assert post_referral(client, agb_code="").status_code == 200
    assert post_referral(client, agb_code="87654321").status_code == 200
    data = intake.ReferralInput(**{**_service_input(), "agb_code": "1234567"})
    assert [e.field for e in intake.problems(db.session, series, data)] == ["agb_code"]


def _service_input() -> dict[str, object]:
    values = form_data()
    values.pop("contact_consent"), values.pop("feedback_consent")
    return {**values, "contact_consent": True, "feedback_consent": False}


def test_the_client_needs_a_phone_or_an_address_and_a_theme_or_the_coordinator(
    client, db, series
) -> None:
    response = post_referral(client, client_phone="", client_email="")
    assert response.status_code == 422
    assert 'id="client_phone-error"' in response.get_data(as_text=True)
    assert post_referral(client, client_phone="", client_email="s@example.org").status_code == 200
    response = post_referral(client, themes=[])
    assert response.status_code == 422 and 'id="themes-error"' in response.get_data(as_text=True)
    assert post_referral(client, themes=[], coordinator_chooses="y").status_code == 200
    # A theme the series has no group for is no choice.
    assert post_referral(client, themes=["discriminatie-x"]).status_code == 422
    assert post_referral(client, need="x" * 501).status_code == 422
    stored = db.session.scalars(select(Referral).order_by(Referral.id)).all()
    assert [r.themes for r in stored] == [["eenzaamheid"], []]


def test_the_receipt_names_the_reference_and_nothing_about_the_client(client, db, series) -> None:
    post_referral(client, themes=["huiselijk-geweld"])
    render.render_pending(db.session)
    (mail,) = db.session.scalars(select(OutboxMessage)).all()
    assert mail.kind == "referral_received" and mail.to_address == "anna@praktijk.example.org"
    assert mail.referral_id is not None and mail.language == "en"
    assert "WOR-2026-0001" in mail.subject and "WOR-2026-0001" in mail.body_text
    for secret in ("Samira", "Slaapt", "06 11 22 33 44", "Huiselijk", "geweld", "Arab"):
        assert secret not in mail.body_text + mail.body_html + mail.subject, secret
    assert "how the referral goes" in mail.body_text  # feedback consent given


def test_referrals_are_rate_limited(migrated_url, clock, series) -> None:
    from tests.conftest import FreshContextClient, make_app

    app = make_app(migrated_url, CLOCK=clock, RATELIMIT_ENABLED=True,
                   REGISTRATION_RATE_LIMIT="2 per minute")  # fmt: skip
    app.test_client_class = FreshContextClient
    client = app.test_client()
    with app.app_context():
        codes = [post_referral(client, contact_consent=None).status_code for _ in range(3)]
    assert codes == [422, 422, 429]


def test_themes_ticked_count_also_with_let_the_coordinator_choose_ticked(
    client, db, series
) -> None:
    page = client.get(f"/events/{SLUG}/refer").get_data(as_text=True)
    assert not re.search(r'<input checked[^>]*name="coordinator_chooses"', page)  # not pre-ticked
    response = post_referral(client, themes=["eenzaamheid", "taal"], coordinator_chooses="y")
    assert response.status_code == 200
    assert db.session.scalars(select(Referral)).one().themes == ["eenzaamheid", "taal"]


def test_a_form_sent_again_with_another_client_is_refused_not_swallowed(client, db, series) -> None:
    hidden = fresh_form(client)
    assert post_referral(client, hidden).status_code == 200
    again = post_referral(client, hidden, client_name="Yusuf", client_phone="06 99 88 77 66")
    assert again.status_code == 422
    assert "This form was sent already" in again.get_data(as_text=True)
    assert [r.client_name for r in db.session.scalars(select(Referral))] == ["Samira"]


def test_an_agb_code_has_ascii_digits(client, db, series) -> None:
    response = post_referral(client, agb_code="１２３４５６７８")
    assert response.status_code == 422
    assert db.session.scalars(select(Referral)).all() == []


def test_the_receipt_can_be_answered_to_the_series(app, client, db, series) -> None:
    assert post_referral(client).status_code == 200
    receipt = db.session.scalars(select(OutboxMessage)).one()
    sender, reply_to = delivery.sender_for(db.session, receipt, app.config["MAIL_SENDER"])
    assert series.organiser_email and reply_to == series.organiser_email
    assert series.organiser_name in sender
