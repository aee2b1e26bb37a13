"""Certificates on the web: the public check (page, form, JSON), the organiser's pages, the
attendee's download, the mail with the PDF attached, and the command line."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from symposium.models import Certificate, OutboxMessage, OutboxStatus
from symposium.services.certificates import codes, issuing
from symposium.services.registration.links import manage_token
from tests.backoffice.test_admin import login, token
from tests.certificates.conftest import PASSWORD, attachments, full_day, local, pdf_text

PERSONAL = ("@example", "0612345678", "GGZ Oost", "12345678901", "NIP-00012345", "rolstoel")


@pytest.fixture
def gp(db, event, register, present):  # type: ignore[no-untyped-def]
    """A GP with every optional detail given, who attended the whole day."""
    person = register(
        1, "klein", "groot", profession="huisarts", phone="0612345678",
        organisation="GGZ Oost", needs="rolstoel",
    ).registration  # fmt: skip
    full_day(present, person, "klein", "groot")
    return person


@pytest.fixture
def issued(db, event, gp):  # type: ignore[no-untyped-def]
    found = issuing.issue_all(db.session, None, event, local(17, 0)).issued[0]
    db.session.commit()
    return found


def test_the_check_page_says_valid_with_only_name_event_date_and_points(client, issued) -> None:
    page = client.get(f"/certificates/{codes.format_code(issued.code)}?lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Valid." in html and issued.name in html and "Klein symposium" in html
    assert "February 4, 2027" in html and "GAIA" in html and "123456" in html
    for detail in PERSONAL:
        assert detail not in html
    assert 'name="robots" content="noindex"' in html


def test_a_typed_code_is_read_the_crockford_way(client, issued) -> None:
    typed = codes.format_code(issued.code).lower().replace("0", "o")
    answer = client.get("/certificates", query_string={"code": typed})
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(f"/certificates/{codes.format_code(issued.code)}")
    wrong = client.get("/certificates", query_string={"code": "ABC", "lang": "en"})
    assert wrong.status_code == 422
    assert "A code has 20 letters and digits" in wrong.get_data(as_text=True)


def test_an_unknown_code_is_404_and_a_revoked_one_names_its_replacement(client, db, issued) -> None:
    unknown = client.get("/certificates/AAAAA-BBBBB-CCCCC-DDDDD?lang=en")
    assert unknown.status_code == 404 and "Unknown." in unknown.get_data(as_text=True)
    assert client.get("/certificates/not-a-code").status_code == 404
    new = issuing.reissue(db.session, None, issued, local(18, 0))
    db.session.commit()
    html = client.get(f"/certificates/{issued.code}?lang=en").get_data(as_text=True)
    assert "Revoked." in html and f"replaced by certificate {new.number}" in html
    assert f"/certificates/{new.code}" in html


def test_the_api_twin_holds_the_same_few_facts(client, db, issued) -> None:
    answer = client.get(f"/api/v1/certificates/{codes.format_code(issued.code)}")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["status"] == "valid" and body["name"] == issued.name
    assert body["days"] == ["2027-02-04"] and body["replaced_by"] is None
    assert body["points"] == [
        {"register_code": "GAIA", "register_name": "GAIA (KNMG) – accreditatie voor artsen",
         "body": "GAIA (KNMG) – accreditatie voor artsen", "activity_id": "123456",
         "points": 4.0}
    ]  # fmt: skip
    for detail in PERSONAL:
        assert detail not in answer.get_data(as_text=True)
    new = issuing.reissue(db.session, None, issued, local(18, 0))
    db.session.commit()
    old = client.get(f"/api/v1/certificates/{issued.code}").get_json()
    assert old["status"] == "revoked" and old["replaced_by"] == codes.format_code(new.code)
    missing = client.get("/api/v1/certificates/AAAAA-BBBBB-CCCCC-DDDDD")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/certificates/{code}" in spec["paths"]


def test_checking_is_rate_limited_per_address(migrated_url, clock, small_event) -> None:
    from tests.conftest import FreshContextClient, make_app

    app = make_app(migrated_url, CLOCK=clock, RATELIMIT_ENABLED=True,
                   VERIFICATION_RATE_LIMIT="3 per minute")  # fmt: skip
    app.test_client_class = FreshContextClient
    client = app.test_client()
    statuses = [
        client.get("/certificates/AAAAA-BBBBB-CCCCC-DDDDD").status_code,
        client.get("/api/v1/certificates/AAAAA-BBBBB-CCCCC-DDDDD").status_code,
        client.get("/certificates?code=x").status_code,  # the form reads nothing: not counted
        client.get("/certificates/AAAAA-BBBBB-CCCCC-DDDDE").status_code,
        client.get("/api/v1/certificates/AAAAA-BBBBB-CCCCC-DDDDE").status_code,
        client.get("/certificates/AAAAA-BBBBB-CCCCC-DDDDF").status_code,
    ]
    assert statuses == [404, 404, 422, 404, 429, 429]


def test_the_mail_carries_the_pdf_and_is_sent_once(app, db, issued, deliver, clock) -> None:
    clock.now = local(17, 5)
    sent = [m for m in deliver() if attachments(m)]
    assert len(sent) == 1 and sent[0]["Subject"] == "Uw bewijs van deelname aan Klein symposium"
    ((name, body),) = attachments(sent[0])
    assert name == f"{issued.number} {issued.name}.pdf"
    assert codes.format_code(issued.code) in pdf_text(body)
    text = sent[0].get_body(("plain",)).get_content()
    assert f"/certificates/{codes.format_code(issued.code)}" in text
    assert not [m for m in deliver() if attachments(m)]  # nothing twice


def test_a_certificate_revoked_before_its_mail_left_is_not_sent(db, issued, deliver, clock) -> None:
    issuing.revoke(db.session, None, issued, "issued by mistake", local(17, 1))
    db.session.commit()
    clock.now = local(17, 5)
    assert not [m for m in deliver() if attachments(m)]
    left = select(func.count()).where(OutboxMessage.kind == "certificate")
    assert db.session.scalar(left) == 0  # dropped, not failed


def test_a_failed_send_is_retried_with_the_pdf_and_not_duplicated(app, db, issued, clock) -> None:
    from symposium.services.mail import delivery

    class Flaky:
        def __init__(self) -> None:
            self.failed = False
            self.messages = []

        def send(self, message, sender, recipient):  # type: ignore[no-untyped-def]
            if attachments(message) and not self.failed:
                self.failed = True
                raise delivery.TemporaryFailure("421 try again later")
            self.messages.append(message)

        def close(self) -> None:
            pass

    backend = Flaky()
    clock.now = local(17, 5)
    delivery.drain(db.session, backend, app.config, lambda: clock.now)
    clock.now = local(18, 0)
    delivery.drain(db.session, backend, app.config, lambda: clock.now)
    with_pdf = [m for m in backend.messages if attachments(m)]
    assert len(with_pdf) == 1
    row = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "certificate")).one()
    assert row.status is OutboxStatus.SENT and row.attempts == 2


def test_the_attendee_downloads_it_from_the_manage_page(app, client, db, gp, issued) -> None:
    link = manage_token(app.config["SECRET_KEY"], gp)
    page = client.get(f"/r/{link}?lang=en").get_data(as_text=True)
    assert "Your certificate" in page and f"/r/{link}/certificate.pdf" in page
    pdf = client.get(f"/r/{link}/certificate.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert gp.name in pdf_text(pdf.data)
    issuing.revoke(db.session, None, issued, "wrong", local(18, 0))
    db.session.commit()
    assert client.get(f"/r/{link}/certificate.pdf").status_code == 404


def test_the_organiser_issues_previews_revokes_and_downloads(
    client, db, event, gp, register, organiser
) -> None:
    register(2, "psy", profession="gz-psycholoog")  # never came
    login(client, organiser.email, PASSWORD)
    url = f"/admin/events/{event.slug}/certificates"
    page = client.get(url + "?lang=en").get_data(as_text=True)
    assert "1 person can get one now" in page and "No check-in was recorded." in page
    preview = client.get(f"{url}/preview/{gp.id}.pdf")
    assert (preview.status_code == 200 and "PREVIEW" in pdf_text(preview.data).upper()) \
        or "VOORBEELD" in pdf_text(preview.data)  # fmt: skip
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0
    form = {"csrf_token": token(page)}
    assert client.post(f"{url}/issue", data=form).status_code == 303
    assert client.post(f"{url}/issue", data=form).status_code == 303  # sent twice
    certificate = db.session.scalars(select(Certificate)).one()
    whole = client.get(f"{url}/all.pdf")
    assert len(PdfReader(io.BytesIO(whole.data)).pages) == 1
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"{url}/all.zip").data))
    assert archive.namelist() == [f"{certificate.number} {gp.name}.pdf"]
    revoke = f"{url}/{certificate.id}/revoke"
    ask = client.get(revoke + "?lang=en").get_data(as_text=True)
    refused = client.post(revoke + "?lang=en", data={"csrf_token": token(ask), "reason": ""})
    assert refused.status_code == 422 and "Write down why." in refused.get_data(as_text=True)
    done = client.post(revoke, data={"csrf_token": token(ask), "reason": "wrong person"})
    assert done.status_code == 303
    db.session.expire_all()
    assert certificate.revoked_at is not None and certificate.revoke_reason == "wrong person"


def test_a_door_account_sees_no_certificates(client, event, door) -> None:
    login(client, door.email, "deur-wachtwoord")
    assert client.get(f"/admin/events/{event.slug}/certificates").status_code == 403


def test_the_settings_refuse_a_file_that_is_no_image(client, db, event, organiser) -> None:
    login(client, organiser.email, PASSWORD)
    url = f"/admin/events/{event.slug}/certificates"
    page = client.get(url + "?lang=en").get_data(as_text=True)
    data = {"csrf_token": token(page), "rule": "points", "signatory_name": "dr. A",
            "signatory_role": "", "signature": (io.BytesIO(b"MZ, no image"), "s.png")}  # fmt: skip
    refused = client.post(f"{url}/settings?lang=en", data=data,
                          content_type="multipart/form-data")  # fmt: skip
    assert refused.status_code == 422
    assert re.search(
        r'class="error"[^>]*>Upload a PNG or JPEG image', refused.get_data(as_text=True)
    )


def test_the_command_line_dry_run_and_issue(app, db, event, gp, register) -> None:
    register(2, "psy", profession="gz-psycholoog")
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["certificates", event.slug, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"would issue: {gp.name}" in dry.output and "No check-in was recorded." in dry.output
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0
    done = runner.invoke(args=["certificates", event.slug, "--issue"])
    assert done.exit_code == 0 and "issued KLEIN-0001" in done.output
    again = runner.invoke(args=["certificates", event.slug, "--issue"])
    assert "0 issued, 1 issued before" in again.output
    assert runner.invoke(args=["certificates", event.slug]).exit_code != 0


def test_a_deletion_request_deletes_the_certificate_and_the_purge_old_ones(
    app, client, db, event, gp, issued, register, present
) -> None:
    from datetime import timedelta

    from symposium.services.privacy import deletion, retention

    code = codes.format_code(issued.code)
    other = register(5, "klein", profession="huisarts").registration
    full_day(present, other, "klein")
    second = issuing.issue_all(db.session, None, event, local(17, 30)).issued[0]
    db.session.commit()
    rules = retention.Retention(90, 120, 1830)
    assert deletion.request_deletion(db.session, gp, local(18, 0), rules)
    db.session.commit()
    assert client.get(f"/certificates/{code}").status_code == 404
    assert client.get(f"/certificates/{second.code}").status_code == 200
    # Five years on, the purge deletes the other certificate as well.
    retention.purge(db.session, local(17, 0) + timedelta(days=1829), rules)
    db.session.commit()
    assert client.get(f"/certificates/{second.code}").status_code == 200
    plans = retention.purge(db.session, local(17, 31) + timedelta(days=1830), rules)
    db.session.commit()
    assert sum(p.certificates for p in plans) == 1
    assert client.get(f"/certificates/{second.code}").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0


def test_the_privacy_statement_names_the_certificate_and_its_retention(client) -> None:
    html = client.get("/privacy?lang=en").get_data(as_text=True)
    assert "your certificate" in html and "1830 days after they are issued" in html


def test_the_personal_data_download_holds_the_certificate(app, client, gp, issued) -> None:
    link = manage_token(app.config["SECRET_KEY"], gp)
    data = client.get(f"/r/{link}/data.json").get_json()
    (found,) = data["certificates"]
    assert found["number"] == issued.number and found["revoked_at"] is None
    assert found["content"]["registers"][0]["points"] == "4"


def test_the_worker_never_attaches_another_certificate_built_under_the_same_id(
    app, db, event, gp, deliver, clock
) -> None:
    """A certificate deleted and a new one given its id (SQLite reuses the highest id): the
    PDF built for the first must not go out with the second."""
    from symposium.services.certificates import document

    first = issuing.issue_all(db.session, None, event, local(17, 0)).issued[0]
    db.session.commit()
    with app.test_request_context():
        document.for_mail(db.session, first.id)  # built and kept in this process
    old_code, old_id = first.code, first.id
    db.session.delete(first)
    db.session.commit()
    again = issuing.issue_all(db.session, None, event, local(17, 1)).issued[0]
    db.session.commit()
    again.id  # noqa: B018  (loaded)
    clock.now = local(17, 5)
    mails = [m for m in deliver() if attachments(m)]
    ((_, body),) = attachments(mails[-1])
    assert codes.format_code(again.code) in pdf_text(body)
    assert codes.format_code(old_code) not in pdf_text(body)
    assert old_id  # the ids may or may not be equal; the PDF follows the code either way


def test_a_new_signatory_is_on_the_next_mail_in_the_same_worker(
    app, db, event, gp, register, present, deliver, clock
) -> None:
    from symposium.models import CertificateRule
    from symposium.services.certificates import design, document

    other = register(6, "klein", profession="huisarts").registration
    full_day(present, other, "klein")
    issued = issuing.issue_all(db.session, None, event, local(17, 0)).issued
    db.session.commit()
    with app.test_request_context():
        document.for_mail(db.session, issued[0].id)  # this worker built both already
    design.save(
        db.session, None, event, rule=CertificateRule.POINTS, signatory_name="Nieuwe Voorzitter",
        signatory_role="", signature=None, remove_signature=False, now=local(17, 1),
    )  # fmt: skip
    db.session.commit()
    clock.now = local(17, 5)
    sent = [body for m in deliver() for _name, body in attachments(m)]
    assert len(sent) == 2 and all("Nieuwe Voorzitter" in pdf_text(body) for body in sent)


def test_a_preview_of_a_cancelled_registration_is_404(client, db, event, organiser, register):
    from symposium.services.registration import lifecycle

    person = register(7, "psy", profession="gz-psycholoog").registration
    lifecycle.cancel_registration(db.session, person, local(9, 0))
    db.session.commit()
    login(client, organiser.email, PASSWORD)
    url = f"/admin/events/{event.slug}/certificates/preview/{person.id}.pdf"
    assert client.get(url).status_code == 404


def test_the_lookup_page_in_english_shows_no_error(client) -> None:
    page = client.get("/certificates?lang=en")
    assert page.status_code == 200 and "is required" not in page.get_data(as_text=True)
    assert client.get("/certificates?code=").status_code == 422


def test_a_big_event_downloads_in_parts(client, db, event, issued, register, present, organiser,
                                        monkeypatch) -> None:  # fmt: skip
    from symposium.blueprints.admin import certificates as pages

    other = register(8, "klein", profession="huisarts").registration
    full_day(present, other, "klein")
    issuing.issue_all(db.session, None, event, local(17, 30))
    db.session.commit()
    monkeypatch.setattr(pages, "PART", 1)
    login(client, organiser.email, PASSWORD)
    url = f"/admin/events/{event.slug}/certificates"
    html = client.get(url + "?lang=en").get_data(as_text=True)
    assert "in parts" in html and "all.zip?part=2" in html
    second = client.get(f"{url}/all.pdf?part=2")
    assert second.status_code == 200 and len(PdfReader(io.BytesIO(second.data)).pages) == 1
    assert client.get(f"{url}/all.pdf?part=3").status_code == 404
    assert client.get(f"{url}/all.pdf?part=x").status_code == 404


def test_one_certificate_that_cannot_be_built_fails_only_its_own_mail(
    app, db, event, gp, register, present, clock, monkeypatch
) -> None:
    from symposium.services.certificates import document
    from symposium.services.mail import delivery

    other = register(9, "klein", profession="huisarts").registration
    full_day(present, other, "klein")
    issued = issuing.issue_all(db.session, None, event, local(17, 0)).issued
    db.session.commit()
    broken = next(c for c in issued if c.registration_id == other.id)
    real = document.singles

    def singles(certificates, designs):  # type: ignore[no-untyped-def]
        if any(c.id == broken.id for c in certificates):
            raise ValueError("a font went missing")
        return real(certificates, designs)

    monkeypatch.setattr(document, "singles", singles)
    sink = __import__("tests.certificates.conftest", fromlist=["Sink"]).Sink()
    clock.now = local(17, 5)
    delivery.drain(db.session, sink, app.config, lambda: clock.now)
    rows = {
        r.certificate_id: r.status
        for r in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "certificate")
        )
    }
    assert rows[broken.id] is OutboxStatus.FAILED
    good = next(c for c in issued if c.id != broken.id)
    assert rows[good.id] is OutboxStatus.SENT


def test_a_signature_of_too_many_pixels_is_refused_unread() -> None:
    from PIL import Image

    from symposium.services.certificates import design
    from symposium.services.core.errors import RuleError

    huge = io.BytesIO()
    Image.new("1", (6000, 5000)).save(huge, format="PNG")  # 30 megapixels, a few kB
    with pytest.raises(RuleError) as refused:
        design.signature_png(huge.getvalue())
    assert refused.value.code == "signature_too_large"
