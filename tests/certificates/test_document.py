"""The certificate PDF: what it says (extracted with pypdf), names in any script, the QR code
(decoded from the rendered page) and the batch that builds many at once."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile

import pytest
from PIL import Image
from pypdf import PdfReader

from symposium.services.certificates import codes, design, document, issuing
from tests.certificates.conftest import full_day, local, pdf_text


@pytest.fixture
def issued(db, event, register, present):  # type: ignore[no-untyped-def]
    """Certificates for a GP and a psychologist named in Latin with diacritics, Cyrillic and
    Arabic script, one in English."""

    def issue(*names: str, language: str = "nl"):  # type: ignore[no-untyped-def]
        for n, name in enumerate(names, start=1):
            person = register(
                n, "klein", "groot", profession="huisarts" if n % 2 else "gz-psycholoog",
                name=name, language=language,
            ).registration  # fmt: skip
            full_day(present, person, "klein", "groot")
        found = issuing.issue_all(db.session, None, event, local(17, 0)).issued
        db.session.commit()
        return sorted(found, key=lambda c: c.registration_id)  # in the order of ``names``

    return issue


def test_the_pdf_says_who_what_when_and_the_points_per_register(app, db, event, issued) -> None:
    gp, psychologist = issued("Zoë Ünal-Çelik", "Jan de Vries", language="en")
    with app.test_request_context():
        text = pdf_text(document.pdf(gp, design.design_of(db.session, event)))
    assert "Certificate of attendance" in text
    assert "Zoë Ünal-Çelik" in text and "General practitioner" in text
    assert event.title in text and "February 4, 2027" in text
    for session in ("Opening", "Kleine workshop", "Grote workshop"):
        assert session in text
    assert "GAIA" in text and "4 points" in text and "123456" in text
    assert "BIG 12345678901" in text
    assert codes.format_code(gp.code) in text and gp.number in text
    with app.test_request_context():
        other = pdf_text(document.pdf(psychologist, None))
    assert "NIP" in other and "NIP-2027-001" in other and "GAIA" not in other


@pytest.mark.parametrize(
    "name", ["Zoë Ünal-Çelik", "Łukasz Żółć", "Анна Петрова", "محمد الأحمد", "Nguyễn Thị Hồng"]
)
def test_names_in_any_script_print_and_extract_as_typed(app, db, event, issued, name) -> None:
    (certificate,) = issued(name)
    with app.test_request_context():
        body = document.pdf(certificate, None)
    assert name in pdf_text(body)


def test_the_dutch_certificate_speaks_dutch(app, db, event, issued) -> None:
    (certificate,) = issued("Jan Jansen")
    with app.test_request_context():
        text = pdf_text(document.pdf(certificate, None))
    assert "Bewijs van deelname" in text and "4 februari 2027" in text
    assert "Huisarts" in text and "4 punten" in text


def test_the_qr_code_decodes_to_the_verification_page(app, db, event, issued, tmp_path) -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    (certificate,) = issued("Jan Jansen")
    with app.test_request_context():
        (tmp_path / "c.pdf").write_bytes(document.pdf(certificate, None))
        expected = document.verify_url(certificate.code)
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", tmp_path / "c.pdf", tmp_path / "c"],
        check=True,
    )
    found = zxingcpp.read_barcodes(Image.open(tmp_path / "c.png"))
    assert [b.text for b in found] == [expected]
    assert expected.endswith(f"/certificates/{codes.format_code(certificate.code)}")


def test_a_preview_and_a_revoked_certificate_say_so_across_the_page(app, db, event, issued) -> None:
    (certificate,) = issued("Jan Jansen")
    with app.test_request_context():
        preview = issuing.preview(db.session, certificate.registration, local(17, 0))
        assert "VOORBEELD – NIET GELDIG" in pdf_text(document.pdf(preview, None, preview=True))
        issuing.revoke(db.session, None, certificate, "wrong person", local(18, 0))
        assert "INGETROKKEN" in pdf_text(document.pdf(certificate, None))


def test_many_at_once_one_pdf_or_a_zip_of_single_pdfs(app, db, event, issued) -> None:
    people = issued("Anna A", "Bert B", "Cees C", "Daan D")
    designs = {event.id: design.design_of(db.session, event)}
    with app.test_request_context():
        whole = document.combined(people, designs)
        archive = zipfile.ZipFile(io.BytesIO(document.zipped(people, designs)))
    assert len(PdfReader(io.BytesIO(whole)).pages) == 4
    names = archive.namelist()
    assert names == [document.filename(c) for c in people]
    for certificate, name in zip(people, names, strict=True):
        single = archive.read(name)
        assert len(PdfReader(io.BytesIO(single)).pages) == 1
        text = pdf_text(single)
        assert certificate.name in text and codes.format_code(certificate.code) in text


def test_a_signature_is_checked_scaled_and_printed(app, db, event, issued) -> None:
    (certificate,) = issued("Jan Jansen")
    big = io.BytesIO()
    Image.new("RGB", (2400, 800), "white").save(big, format="JPEG")
    saved = design.save(
        db.session, None, event, rule=issuing.design.rule_of(db.session, event),
        signatory_name="dr. A. Voorzitter", signatory_role="Programmacommissie",
        signature=big.getvalue(), remove_signature=False, now=local(16, 0),
    )  # fmt: skip
    with Image.open(io.BytesIO(saved.signature)) as stored:
        assert stored.format == "PNG" and stored.size == (900, 300)
    with app.test_request_context():
        body = document.pdf(certificate, saved)
    text = pdf_text(body)
    assert "dr. A. Voorzitter" in text and "Programmacommissie" in text
    images = PdfReader(io.BytesIO(body)).pages[0].images
    assert len(images) == 1  # the signature (the QR code is drawn, not an image)
    with pytest.raises(issuing.RuleError) as refused:
        design.signature_png(b"%PDF-1.4 not an image")
    assert refused.value.field == "signature"


def test_a_group_series_issues_a_certificate_of_participation_without_points(
    app, db, load_example, clock
) -> None:
    from datetime import timedelta

    from sqlalchemy import select

    from symposium.models import Event, Via
    from symposium.services.checkin import presence
    from symposium.services.registration import lifecycle
    from symposium.services.registration.validation import RegistrationInput
    from tests.conftest import registration_data

    load_example("welzijn-op-recept.toml")
    series = db.session.scalars(select(Event).where(Event.slug == "welzijn-op-recept-2027")).one()
    group = next(s for s in series.sessions if s.key == "rondkomen-digitaal")
    data = RegistrationInput(**registration_data("amal", "overig"), sessions=[group.id])
    signed_up = series.registration_opens_at + timedelta(days=1)
    person = lifecycle.register(db.session, series, data, signed_up, "test").registration
    # Ticked at the door at the first, second and fourth meeting; not at the others.
    for n in (0, 1, 3):
        meeting = group.meetings[n]
        answer = presence.scan(
            db.session, None, group, client_id=f"m{n}", registration_id=person.id,
            now=meeting.starts_at + timedelta(minutes=2), via=Via.SEARCH,
        )  # fmt: skip
        assert answer.presence.meeting_id == meeting.id
    db.session.commit()
    assert design.rule_of(db.session, series) is issuing.CertificateRule.ATTENDANCE
    (certificate,) = issuing.issue_all(db.session, None, series, group.meetings[-1].ends_at).issued
    db.session.commit()
    assert certificate.content["event"]["series"] and certificate.content["registers"] == []
    (row,) = certificate.content["sessions"]
    assert (len(row["meetings"]), row["meetings_held"], row["in_full"]) == (3, 6, False)
    with app.test_request_context():
        text = pdf_text(document.pdf(certificate, None))
    assert "Verklaring van deelname" in text and "BIJGEWOONDE GROEPEN" in text
    # The days attended, not the whole run of the group (9 March to 13 April).
    assert "9 maart 2027 – 30 maart 2027" in text and "9 mrt – 30 mrt" in text
    assert "Rondkomen in een digitale samenleving" in text
    assert "3 van 6 bijeenkomsten bijgewoond: 9 mrt, 16 mrt, 30 mrt" in text
    assert "punten" not in text and "Accreditatie".upper() not in text
    assert "contacturen" not in text  # a series counts meetings, not hours

    # The check page names the days of the meetings attended.
    from symposium.services.certificates import verification

    verdict = verification.verify(db.session, certificate.code)
    assert [d.isoformat() for d in verdict.days] == ["2027-03-09", "2027-03-16", "2027-03-30"]
