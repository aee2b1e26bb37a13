"""No page scrolls sideways, on a phone (390×844) or on a desktop (1280×900).

Every page of the app (tests/backoffice/every_page.py reads them from the URL map, so a new
page is looked at without being listed) on a busy day's data, as the public, an organiser and
a door volunteer see it: registration while it is open, everything else on the symposium's
afternoon. A full-page screenshot of each page at each size is kept under the test's
``tmp_path`` (``phone/`` and ``desktop/``, one file per endpoint: ``admin.participant.png``,
``admin.participant-2.png`` …; run with ``--basetemp`` to keep them in a known place), so a
person can look at what the assertion cannot judge.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from symposium import demo_day
from symposium.extensions import db
from symposium.services.programme.catalogue import ensure_catalogue
from tests.backoffice import every_page
from tests.browser.site import serving
from tests.conftest import FrozenClock, empty_tables, make_app

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
SIGN_IN = {"admin": every_page.ADMIN_EMAIL, "door": demo_day.DOOR_EMAIL}


@dataclass
class BusySite:
    """The served app, its clock, and the pages to look at."""

    url: str
    app: Flask
    clock: FrozenClock
    pages: list[every_page.Page]


@pytest.fixture(scope="module")
def busy(migrated_url: str) -> Iterator[BusySite]:
    clock = FrozenClock(every_page.DAY)
    app = make_app(migrated_url, CLOCK=clock)
    with app.app_context():
        empty_tables()
        ensure_catalogue(db.session)
        db.session.commit()
        found = every_page.pages(app, every_page.busy_day(app))
    try:
        with serving(app) as url:
            yield BusySite(url, app, clock, found)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def sign_in(tab: Any, base: str, email: str) -> None:
    tab.goto(f"{base}/admin/login")
    tab.get_by_label("E-mailadres").fill(email)
    tab.get_by_label("Wachtwoord").fill(every_page.PASSWORD)
    with tab.expect_navigation():
        tab.get_by_role("button", name="Inloggen").click()
    assert "/login" not in tab.url, f"{email} was not signed in"


def widths(tab: Any) -> tuple[int, int]:
    return tab.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


def test_no_page_scrolls_sideways(browser, busy: BusySite, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Each page is loaded once and looked at in both sizes: the layout, not the page,
    changes with the screen."""
    tabs = {}
    for persona in ("public", "admin", "door"):
        tabs[persona] = browser.new_context(locale="nl-NL").new_page()
        if persona in SIGN_IN:
            sign_in(tabs[persona], busy.url, SIGN_IN[persona])
    for size in VIEWPORTS:
        (tmp_path / size).mkdir()
    too_wide, shot = [], Counter[str]()
    # Registration first: it is looked at while open, before the clock goes to the day.
    for page in sorted(busy.pages, key=lambda p: p.at):
        busy.clock.now = page.at
        tab = tabs[page.persona]
        tab.set_viewport_size(VIEWPORTS["desktop"])
        response = tab.goto(busy.url + page.url)
        assert response is not None and response.status == 200, (page.url, tab.url)
        assert tab.url == busy.url + page.url, f"{page.url} went to {tab.url}"
        # What is folded away (a form to change points, a group's meetings) is measured too.
        tab.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true })")
        shot[page.endpoint] += 1  # admin.participant.png, admin.participant-2.png …
        name = page.endpoint + (f"-{shot[page.endpoint]}" if shot[page.endpoint] > 1 else "")
        for size, viewport in VIEWPORTS.items():
            tab.set_viewport_size(viewport)
            scroll_width, screen = widths(tab)
            if scroll_width > screen:
                too_wide.append(f"{page.url} ({page.persona}) is {scroll_width}px wide on {size}")
            tab.screenshot(path=tmp_path / size / f"{name}.png", full_page=True)
    for tab in tabs.values():
        tab.context.close()
    print(f"{len(busy.pages)} pages; screenshots in {tmp_path}")
    assert not too_wide, "\n".join(too_wide)
    looked_at = {page.endpoint for page in busy.pages}
    assert {"admin.dashboard", "door.session", "registration.register"} <= looked_at


def test_every_excluded_route_exists(busy: BusySite) -> None:
    """NOT_PAGES names routes that exist: a route renamed or gone is struck from it."""
    routes = {rule.endpoint for rule in busy.app.url_map.iter_rules()}
    assert sorted(every_page.NOT_PAGES.keys() - routes) == []
