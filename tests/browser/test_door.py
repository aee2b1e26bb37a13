"""The door page in a phone's browser (static/door/door.js): a typed code answered in place,
scans kept on the phone while the wifi is gone and sent once it is back, a scan whose answer
was lost sent again and counted once, and the camera reading a ticket's QR code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import segno
from sqlalchemy import select

from symposium.models import CheckinScan, Presence, Session
from symposium.services.checkin import tickets
from tests.browser import availability
from tests.browser.site import serving
from tests.checkin.conftest import door, local  # noqa: F401  (fixture)
from tests.checkin.test_door_pages import DOOR_PASSWORD, quick_hashes  # noqa: F401  (fixture)

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def live_server(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with serving(app) as url:
        yield url


@pytest.fixture
def codes(register, small_event) -> list[str]:  # type: ignore[no-untyped-def]
    """Six people with a place in workshop "klein" (registered while registration is open)."""
    return [register(n, small_event["klein"]).registration.checkin_code for n in range(1, 7)]


@pytest.fixture
def at_the_door(db, small_event, door, clock):  # type: ignore[no-untyped-def]
    """13:02 on the day; the door page of "klein"'s path."""
    clock.now = local(13, 2)
    return f"/door/klein/sessions/{small_event['klein']}/"


def sign_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/admin/login")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill(DOOR_PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_load_state()


def presences(db, session_id: int) -> dict[str, Presence]:  # type: ignore[no-untyped-def]
    """The live presences of a session by name, read afresh (the server wrote them)."""
    db.session.rollback()
    rows = db.session.scalars(
        select(Presence).where(Presence.session_id == session_id, Presence.undone_at.is_(None))
    )
    return {row.registration.name: row for row in rows}


def type_code(page: Any, code: str) -> None:
    page.get_by_label("Ticketcode").fill(code)
    page.get_by_label("Ticketcode").press("Enter")


def test_scans_wait_on_the_phone_without_wifi_and_count_once(
    browser, live_server, db, small_event, codes, at_the_door, tmp_path
) -> None:
    extra_code = codes[5]
    context = browser.new_context(locale="nl-NL", viewport=PHONE)
    page = context.new_page()
    sign_in(page, live_server, "deur@example.org")
    page.goto(live_server + at_the_door)
    answer, queue = page.locator("#answer"), page.locator("#queue")
    klein = small_event["klein"]

    # Online: the typed code is answered in place, no page load.
    type_code(page, codes[0])
    page.wait_for_selector("#answer.answer-green")
    assert "Welkom, Deelnemer 1" in answer.inner_text()
    assert page.get_by_role("button", name="Inchecken terugdraaien").is_visible()
    assert page.get_by_label("Ticketcode").input_value() == ""  # ready for the next one
    assert list(presences(db, klein)) == ["Deelnemer 1"]
    assert page.locator("#count-checked-in").inner_text() == "1"

    # The wifi goes: two scans are kept, and the page says so.
    context.set_offline(True)
    type_code(page, codes[1])
    page.wait_for_selector("#answer.answer-pending >> text=Bewaard op deze telefoon")
    assert codes[1].upper() in answer.inner_text()  # which ticket it was
    type_code(page, codes[2])
    page.wait_for_selector("#queue >> text=2 scans wachten om verstuurd te worden")
    page.screenshot(path=str(tmp_path / "door-offline-phone.png"), full_page=True)
    assert list(presences(db, klein)) == ["Deelnemer 1"]

    # It comes back: both are sent; the last one's answer shows, the other is listed.
    context.set_offline(False)
    page.wait_for_selector("#answer.answer-green >> text=Welkom, Deelnemer 3")
    page.wait_for_selector("#sent-later >> text=Welkom, Deelnemer 2")
    assert queue.is_hidden()
    assert sorted(presences(db, klein)) == ["Deelnemer 1", "Deelnemer 2", "Deelnemer 3"]
    assert page.evaluate("Object.keys(localStorage)") == []  # nothing left to send
    assert page.locator("#count-checked-in").inner_text() == "3"
    assert page.locator("#count-still-in").inner_text() == "3"

    # The answer is lost on the way back (the scan was recorded): sent again, counted once.
    lost: list[str] = []

    def lose_the_answer(route: Any) -> None:
        route.fetch()  # the server records the scan …
        lost.append(route.request.post_data or "")
        route.abort()  # … and the phone never hears

    context.route("**/scans", lose_the_answer)
    type_code(page, codes[3])
    page.wait_for_selector("#answer >> text=Bewaard op deze telefoon")
    assert len(presences(db, klein)) == 4 and lost
    context.unroute("**/scans")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_selector("#answer.answer-green >> text=Welkom, Deelnemer 4")
    assert len(presences(db, klein)) == 4
    assert db.session.scalars(select(CheckinScan)).all().__len__() == 4

    # Kept while the page is closed: sent by the next page load.
    context.route("**/scans", lambda route: route.abort())
    type_code(page, codes[4])
    page.wait_for_selector("#answer >> text=Bewaard op deze telefoon")
    context.unroute("**/scans")
    page.reload()
    page.wait_for_selector("#sent-later >> text=Welkom, Deelnemer 5")
    assert len(presences(db, klein)) == 5
    page.screenshot(path=str(tmp_path / "door-sent-later-phone.png"), full_page=True)

    # A scan the server cannot read (a control character, from an older page) among good
    # ones: the good ones are recorded, the bad one is shown and dropped, nothing sticks.
    url = f"/door/klein/sessions/{klein}/scans"
    page.evaluate(
        """([url, code]) => {
            const put = (id, c, at) => localStorage.setItem("symposium.door.scan." + id,
              JSON.stringify({url, item: {client_id: id, code: c, direction: "in",
                via: "typed", admit_anyway: false, scanned_at: at}}));
            put("bad-1", "AB\u0000CD", "2027-02-04T12:02:00Z");
            put("good-1", code, "2027-02-04T12:02:01Z");
        }""",
        [url, extra_code],
    )
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_selector("#sent-later >> text=Niet vastgelegd")
    page.wait_for_selector("#sent-later >> text=Welkom, Deelnemer 6")
    assert page.evaluate("Object.keys(localStorage)") == []
    assert len(presences(db, klein)) == 6
    context.close()


def fake_camera(path: Path, text: str, width: int = 640, height: int = 480) -> Path:
    """A Y4M video of a ticket's QR code on white, for Chromium's fake camera."""
    matrix = [list(row) for row in segno.make_qr(text, error="m").matrix_iter(border=4)]
    scale = min(width, height) * 3 // 4 // len(matrix)
    size = scale * len(matrix)
    left, top = (width - size) // 2, (height - size) // 2
    luma = bytearray(b"\xeb" * (width * height))
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                for dy in range(scale):
                    start = (top + y * scale + dy) * width + left + x * scale
                    luma[start : start + scale] = b"\x10" * scale
    chroma = b"\x80" * (width * height // 2)
    frame = b"FRAME\n" + bytes(luma) + chroma
    path.write_bytes(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode() + frame * 5)
    return path


def test_the_camera_reads_the_tickets_qr_code(
    browser, live_server, db, small_event, codes, at_the_door, tmp_path
) -> None:
    video = fake_camera(tmp_path / "ticket.y4m", tickets.format_code(codes[0]))
    camera = browser.browser_type.launch(
        executable_path=availability.chromium_path(),
        args=[
            *availability.LAUNCH_ARGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context = camera.new_context(locale="nl-NL", viewport=PHONE, permissions=["camera"])
        page = context.new_page()
        sign_in(page, live_server, "deur@example.org")
        page.goto(live_server + at_the_door)
        page.get_by_role("button", name="Scannen met de camera").click()
        page.wait_for_selector("#answer.answer-green >> text=Welkom, Deelnemer 1", timeout=15000)
        assert page.get_by_role("button", name="Camera stoppen").is_visible()
        page.screenshot(path=str(tmp_path / "door-camera-phone.png"))
        row = presences(db, small_event["klein"])["Deelnemer 1"]
        assert row.checked_in_via.value == "scan"
        page.get_by_role("button", name="Camera stoppen").click()
        assert page.locator("#camera-view").is_hidden()
        context.close()
    finally:
        camera.close()


def test_the_door_page_works_without_javascript(
    browser, live_server, db, small_event, codes, at_the_door
) -> None:
    context = browser.new_context(locale="nl-NL", viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server, "deur@example.org")
    page.goto(live_server + at_the_door)
    assert page.locator("#scanner").is_hidden()
    type_code(page, codes[0])
    page.wait_for_load_state()
    assert "Welkom, Deelnemer 1" in page.locator("#answer").inner_text()
    assert "scan=" in page.url  # the form posted, and the answer page came back
    assert list(presences(db, small_event["klein"])) == ["Deelnemer 1"]
    assert db.session.get(Session, small_event["klein"]) is not None
    context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_ticket_left_at_home_is_found_by_name(
    browser, live_server, db, small_event, codes, at_the_door, javascript
) -> None:
    context = browser.new_context(locale="nl-NL", viewport=PHONE, java_script_enabled=javascript)
    page = context.new_page()
    sign_in(page, live_server, "deur@example.org")
    page.goto(live_server + at_the_door)
    page.get_by_label("Zoeken op naam").fill("deelnemer 2")
    page.get_by_role("button", name="Zoeken").click()
    page.get_by_role("button", name="Inchecken: Deelnemer 2").click()
    page.wait_for_selector("#answer.answer-green")
    assert "Welkom, Deelnemer 2" in page.locator("#answer").inner_text()
    assert list(presences(db, small_event["klein"])) == ["Deelnemer 2"]
    assert presences(db, small_event["klein"])["Deelnemer 2"].checked_in_via.value == "search"
    context.close()
