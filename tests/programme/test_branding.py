"""An event's logo and accent colour (services/programme/branding.py): the rules, the event
file's [branding], the back-office form, the logo and accent routes, the pages that show
them, the hook for mail, and the site's favicon."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from symposium.models import AuditEntry, Event, EventLogo, EventStatus, Role
from symposium.services.accounts import access
from symposium.services.backoffice import history
from symposium.services.core.errors import RuleError
from symposium.services.programme import branding
from tests.backoffice.test_admin import PASSWORD, login
from tests.conftest import SMALL_EVENT, row_counts
from tests.programme.test_programme_edit import form_data, textareas

PURPLE = "#7a2e5c"  # white on it: 8.9:1


def png(size: tuple[int, int] = (300, 100), colour: str = PURPLE, mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, format="PNG")
    return out.getvalue()


def jpeg(size: tuple[int, int] = (300, 100)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, PURPLE).save(out, format="JPEG")
    return out.getvalue()


def noise_png(nbytes: int) -> bytes:
    """A real PNG of at least ``nbytes`` (random pixels do not compress)."""
    side = int((nbytes / 3) ** 0.5) + 20
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, format="PNG")
    assert len(out.getvalue()) >= nbytes
    return out.getvalue()


def event_of(db, slug: str = "klein") -> Event:  # type: ignore[no-untyped-def]
    db.session.expire_all()
    return db.session.scalars(select(Event).where(Event.slug == slug)).one()


def load(app, path: Path):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["load-event", str(path)])


def branded_file(tmp_path: Path, branding_table: str, logo: bytes | None = None) -> Path:
    if logo is not None:
        (tmp_path / "logo.png").write_bytes(logo)
    path = tmp_path / "klein.toml"
    head, rest = SMALL_EVENT.split("[organiser]", 1)
    path.write_text(f"{head}[branding]\n{branding_table}\n\n[organiser]{rest}")
    return path


# --------------------------------------------------------------------------- the rules


def test_contrast_is_wcags_and_the_threshold_is_aa() -> None:
    assert branding.contrast_with_white("#000000") == pytest.approx(21.0)
    assert branding.contrast_with_white("#ffffff") == pytest.approx(1.0)
    assert branding.checked_accent("#767676") == "#767676"  # 4.54:1, the lightest grey
    with pytest.raises(RuleError) as refused:
        branding.checked_accent("#777777")  # 4.48:1
    assert refused.value.code == "accent_low_contrast" and refused.value.field == "accent_colour"
    assert "4.47:1" in str(refused.value.message)  # rounded down: never "4.50 is below 4.5"
    assert branding.checked_accent(" #7A2E5C ") == PURPLE
    assert branding.checked_accent("") == "" and branding.checked_accent(None) == ""
    for wrong in ("red", "#12345", "#1234567", "7a2e5c", "#ggg000"):
        with pytest.raises(RuleError) as refused:
            branding.checked_accent(wrong)
        assert refused.value.code == "accent_invalid"


def test_a_logo_is_told_by_its_bytes_and_kept_as_pixels_only() -> None:
    big = branding.checked_logo(png((3000, 500), mode="RGB"))
    assert (big.content_type, big.width, big.height) == ("image/png", 1200, 200)
    photo = branding.checked_logo(jpeg((600, 600)))
    assert photo.content_type == "image/jpeg" and photo.data.startswith(b"\xff\xd8\xff")
    # Bytes after the image (a "polyglot" file) are not kept.
    appended = branding.checked_logo(png() + b"<script>alert(1)</script>")
    assert b"script" not in appended.data
    for wrong in (b"just text, named logo.png", b"<svg xmlns='http://www.w3.org/2000/svg'/>",
                  b"GIF89a" + png()[6:], b"\x89PNG\r\n\x1a\n" + b"\x00" * 40):  # fmt: skip
        with pytest.raises(RuleError) as refused:
            branding.checked_logo(wrong)
        assert refused.value.code == "logo_not_image" and refused.value.field == "logo"
    with pytest.raises(RuleError) as refused:
        branding.checked_logo(noise_png(branding.MAX_LOGO + 1))
    assert refused.value.code == "logo_too_large"


# --------------------------------------------------------------------------- event file


def test_the_event_file_sets_the_accent_and_the_logo_and_a_reload_changes_nothing(
    app, db, tmp_path
) -> None:
    path = branded_file(tmp_path, f'accent_colour = "{PURPLE}"\nlogo = "logo.png"', png())
    result = load(app, path)
    assert result.exit_code == 0, result.output
    event = event_of(db)
    assert event.accent_colour == PURPLE
    assert event.logo.content_type == "image/png" and (event.logo.width, event.logo.height) == (
        300,
        100,
    )
    assert Image.open(io.BytesIO(event.logo.data)).size == (300, 100)
    assert load(app, path).output.strip() == "klein: no changes"
    # Without [branding] the event keeps its look (it may come from the back-office) …
    (tmp_path / "plain.toml").write_text(SMALL_EVENT)
    assert load(app, tmp_path / "plain.toml").output.strip() == "klein: no changes"
    # … and a [branding] without a logo or colour goes back to the site's.
    path = branded_file(tmp_path, "")
    assert load(app, path).output.strip() == "klein: updated branding 1"
    event = event_of(db)
    assert event.accent_colour == "" and event.logo is None
    assert db.session.scalar(select(EventLogo.event_id)) is None


@pytest.mark.parametrize(
    ("table", "logo", "message"),
    [
        ('accent_colour = "red"', None, "branding.accent_colour: Give the colour as #"),
        (
            'accent_colour = "#f0b429"',
            None,
            "branding.accent_colour: White text on #f0b429 has a contrast of only 1.86:1",
        ),
        ('logo = "missing.png"', None, "branding.logo: missing.png: no such file"),
        ('logo = "/etc/hostname"', None, "must be a file in the event file's folder"),
        ('logo = "../elsewhere.png"', None, "must be a file in the event file's folder"),
        ('logo = "logo.png"', b"not an image at all", "logo.png: Upload the logo as a PNG or JPEG"),
        ('logo = "logo.png"', noise_png(branding.MAX_LOGO + 1), "is larger than 500 kB"),
        ('colour = "#7a2e5c"', None, "branding.colour: unknown key"),
    ],
)
def test_a_bad_branding_in_the_file_is_refused_whole(
    app, db, small_event, tmp_path, table, logo, message
) -> None:
    before = row_counts(db.session)
    path = branded_file(tmp_path, table, logo)
    result = load(app, path)
    assert result.exit_code == 1
    assert message in result.output, result.output
    assert row_counts(db.session) == before
    assert event_of(db).accent_colour == ""


def test_the_examples_have_a_logo_and_an_accent_that_white_text_can_be_read_on(
    db, load_example
) -> None:
    load_example("7roses-symposium.toml")
    load_example("welzijn-op-recept.toml")
    for event in db.session.scalars(select(Event)):
        assert event.logo is not None and event.logo.content_type == "image/png"
        assert branding.contrast_with_white(event.accent_colour) >= 4.5


# --------------------------------------------------------------------------- back-office


@pytest.fixture
def organiser(client, db, small_event, clock):  # type: ignore[no-untyped-def]
    """The organiser of "klein", signed in, reading English (the messages' own words)."""
    event = db.session.get(Event, small_event["event"])
    access.create_user(db.session, "org@example.org", Role.ORGANISER, clock.now, event=event,
                       password=PASSWORD)  # fmt: skip
    db.session.commit()
    login(client, "org@example.org")
    client.set_cookie("lang", "en")
    return client


URL = "/admin/events/klein/edit"


def edit(client, **changes):  # type: ignore[no-untyped-def]
    """Post the edit form as a browser sends it (ticked boxes included), with ``changes``."""
    page = client.get(URL).get_data(as_text=True)
    data = {**form_data(page), **textareas(page)}
    for box in ("remove_logo", "default_accent"):
        if not re.search(rf'<input checked[^>]*name="{box}"', page):
            data.pop(box, None)
    data.update(changes)
    return client.post(URL, data=data, content_type="multipart/form-data")


def test_the_form_shows_the_branding_fields_with_csrf_and_multipart(organiser) -> None:
    page = organiser.get(URL).get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'name="csrf_token"' in page
    assert re.search(r'<input[^>]*name="logo"[^>]*type="file"', page)
    assert re.search(r'name="accent_colour" type="color" value="#1f5f8b"', page)
    # No colour of its own yet: the default blue shows, and the "back to default" box is free.
    assert not re.search(r'<input checked[^>]*name="default_accent"', page)
    assert 'name="remove_logo"' not in page  # nothing to remove


def test_uploading_a_logo_and_choosing_a_colour_saves_both_with_an_audit_entry(
    organiser, db, app
) -> None:
    response = edit(organiser, logo=(io.BytesIO(png()), "logo.png"), accent_colour=PURPLE)
    assert response.status_code == 303
    event = event_of(db)
    assert event.accent_colour == PURPLE and event.logo.width == 300
    (entry,) = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "branding_changed")
    ).all()
    assert entry.user.email == "org@example.org"
    assert entry.before == {"accent_colour": "", "logo": ""}
    assert entry.after["accent_colour"] == PURPLE and entry.after["logo"].startswith("PNG 300×100")
    with app.test_request_context("/?lang=en"):
        (line,) = [x for x in history.describe(db.session, event, [entry])]
    assert line.sentence == "Logo or accent colour changed"
    assert f"Accent colour: – → {PURPLE}" in line.changes
    # The page now shows the logo on file, with a box to remove it.
    page = organiser.get(URL).get_data(as_text=True)
    assert "/admin/events/klein/logo?v=" in page and 'name="remove_logo"' in page
    preview = organiser.get("/admin/events/klein/logo")
    assert preview.status_code == 200 and preview.mimetype == "image/png"
    # Saving again unchanged writes no second entry.
    assert edit(organiser).status_code == 303
    assert db.session.scalar(select(AuditEntry.id).where(AuditEntry.id != entry.id,
                             AuditEntry.action == "branding_changed")) is None  # fmt: skip


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        ((b"Dear organiser, this is a letter.", "logo.png"), "Upload the logo as a PNG or JPEG"),
        ((png(), "logo.gif"), "Upload the logo as a PNG or JPEG"),
        ((noise_png(branding.MAX_LOGO + 1), "logo.png"), "larger than 500 kB"),
    ],
)
def test_a_renamed_or_oversized_file_is_refused_next_to_the_field_and_nothing_is_lost(
    organiser, db, upload, message
) -> None:
    before = row_counts(db.session)
    data, name = upload
    response = edit(organiser, logo=(io.BytesIO(data), name), title="Nieuwe titel",
                    accent_colour=PURPLE)  # fmt: skip
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(r'<p class="error" id="logo-error">([^<]*)</p>', page)
    assert error and message in error[1]
    assert 'aria-invalid="true"' in page
    # What was typed is still in the form; nothing was saved.
    assert 'value="Nieuwe titel"' in page and f'value="{PURPLE}"' in page
    assert row_counts(db.session) == before
    event = event_of(db)
    assert event.title == "Klein symposium" and event.logo is None and event.accent_colour == ""


def test_a_colour_white_text_cannot_be_read_on_is_refused_next_to_its_field(organiser, db) -> None:
    response = edit(organiser, accent_colour="#f0b429", title="Nieuwe titel")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(r'<p class="error" id="accent_colour-error">([^<]*)</p>', page)
    assert error and "contrast of only 1.86:1" in error[1] and "at least 4.5:1" in error[1]
    assert event_of(db).title == "Klein symposium"  # the whole save waits for a good colour


def test_remove_the_logo_and_go_back_to_the_default_colour(organiser, db) -> None:
    assert (
        edit(organiser, logo=(io.BytesIO(jpeg()), "photo.JPG"), accent_colour=PURPLE).status_code
        == 303
    )
    assert event_of(db).logo.content_type == "image/jpeg"
    response = edit(organiser, remove_logo="y", default_accent="y", accent_colour=PURPLE)
    assert response.status_code == 303
    event = event_of(db)
    assert event.logo is None and event.accent_colour == ""
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "branding_changed").order_by(AuditEntry.id)
    ).all()
    assert len(entries) == 2
    assert entries[1].after == {"accent_colour": "", "logo": ""}
    assert entries[1].before["logo"].startswith("JPEG 300×100")


def test_a_new_look_gives_the_event_page_a_new_stamp(organiser, db, app) -> None:
    stamp = event_of(db).programme_stamp
    edit(organiser, accent_colour=PURPLE)
    assert event_of(db).programme_stamp != stamp  # every cached programme page is stale


# --------------------------------------------------------------------------- routes and pages


@pytest.fixture
def branded(db, small_event, clock):  # type: ignore[no-untyped-def]
    """The small event with a purple accent and a PNG logo."""
    event = db.session.get(Event, small_event["event"])
    branding.save(db.session, None, event, accent_colour=PURPLE, logo=png(), remove_logo=False,
                  now=clock.now)  # fmt: skip
    db.session.commit()
    return event


def test_the_logo_is_served_with_its_type_and_cached_by_its_digest(client, db, branded) -> None:
    logo = branded.logo
    response = client.get(f"/events/klein/logo?v={logo.digest[:16]}")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.data == logo.data
    assert response.headers["ETag"] == f'"{logo.digest}"'
    cache = response.cache_control
    assert cache.public and cache.max_age == 365 * 24 * 3600 and cache.immutable
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Without the version (an old link): briefly, then checked again by its ETag.
    plain = client.get("/events/klein/logo")
    assert plain.cache_control.max_age == 300 and not plain.cache_control.immutable
    again = client.get("/events/klein/logo", headers={"If-None-Match": f'"{logo.digest}"'})
    assert again.status_code == 304 and again.data == b""


def test_no_logo_or_an_unpublished_event_is_a_404(client, db, small_event, branded) -> None:
    assert client.get("/events/unknown/logo").status_code == 404
    branded.status = EventStatus.DRAFT
    db.session.commit()
    assert client.get("/events/klein/logo").status_code == 404
    branded.status = EventStatus.PUBLISHED
    branded.logo = None
    db.session.commit()
    assert client.get("/events/klein/logo").status_code == 404


def test_the_accent_is_a_stylesheet_of_our_own(client) -> None:
    response = client.get("/accent/7a2e5c.css")
    assert response.status_code == 200 and response.mimetype == "text/css"
    assert response.get_data(as_text=True).strip() == ":root { --accent: #7a2e5c; }"
    assert response.cache_control.immutable and response.cache_control.public
    for wrong in ("red", "7A2E5C", "7a2e5c;x", "7a2e5"):
        assert client.get(f"/accent/{wrong}.css").status_code == 404


def test_the_event_pages_carry_the_accent_and_the_logo(client, db, branded, register) -> None:
    outcome = register(1, branded.sessions[1].id)
    pages = [
        "/events/klein/",
        f"/events/klein/sessions/{branded.sessions[0].id}",
        "/events/klein/register?profession=gz-psycholoog",
        f"/r/{outcome.token}",
        f"/r/{outcome.token}/details",
    ]
    logo_src = f"/events/klein/logo?v={branded.logo.digest[:16]}"
    for url in pages:
        page = client.get(url).get_data(as_text=True)
        assert '<link rel="stylesheet" href="/accent/7a2e5c.css">' in page, url
        assert f'src="{logo_src}"' in page and 'width="300" height="100"' in page, url
        assert "style=" not in page and "<style" not in page, url  # the CSP allows neither
    # Another event, and the site's own pages, keep the house look.
    index = client.get("/").get_data(as_text=True)
    assert "/accent/" not in index and "event-logo" not in index


def test_a_changed_logo_shows_at_once_on_the_cached_programme_page(
    app, client, db, branded, clock
) -> None:
    app.config["PAGE_CACHE_SECONDS"] = 600
    first = client.get("/events/klein/").get_data(as_text=True)
    assert "/accent/7a2e5c.css" in first
    branding.save(db.session, None, branded, accent_colour="#1d5e3a", logo=None,
                  remove_logo=True, now=clock.now)  # fmt: skip
    db.session.commit()
    page = client.get("/events/klein/").get_data(as_text=True)
    assert "/accent/1d5e3a.css" in page and "event-logo" not in page


def test_the_mail_hook_gives_the_accent_and_an_absolute_logo_url(app, db, branded, small_event):
    with app.app_context():
        brand = branding.for_mail(branded)
    assert brand.accent == PURPLE
    assert brand.logo_url == f"http://localhost/events/klein/logo?v={branded.logo.digest[:16]}"
    branded.logo, branded.accent_colour = None, ""
    db.session.commit()
    assert branding.for_mail(branded) == branding.Brand(branding.DEFAULT_ACCENT, None)


# --------------------------------------------------------------------------- the favicon


def test_the_favicon_is_linked_and_served(client) -> None:
    page = client.get("/").get_data(as_text=True)
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    assert '<link rel="icon" href="/static/favicon-32.png" type="image/png" sizes="32x32">' in page
    assert '<link rel="apple-touch-icon" href="/static/apple-touch-icon.png">' in page
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert b"<script" not in svg.data and b"#1f5f8b" in svg.data
    for path, size in (("/static/favicon-32.png", (32, 32)),
                       ("/static/apple-touch-icon.png", (180, 180))):  # fmt: skip
        response = client.get(path)
        assert response.status_code == 200 and response.mimetype == "image/png"
        assert Image.open(io.BytesIO(response.data)).size == size
        response.close()
    old = client.get("/favicon.ico")
    assert old.status_code == 301 and old.headers["Location"].endswith("/static/favicon-32.png")
    svg.close()
