"""The "Welzijn op recept" page is short and fits a phone (issue 16 point 6).

Laid out day by day it was 48 meeting cards: 20,900 px tall at 1280×900 and 24,000 px on a
phone. As one card per group, with the meetings folded, it is about 2,500 and 5,500 px.
"""

from __future__ import annotations

import pytest

# Well under the old page's height, with room for text the page may gain.
VIEWPORTS = {
    "desktop": ({"width": 1280, "height": 900}, 4_000),
    "phone": ({"width": 390, "height": 844}, 8_000),
}


@pytest.mark.parametrize("name", VIEWPORTS)
def test_the_groups_page_is_short_and_never_scrolls_sideways(
    browser, site, tmp_path, name: str
) -> None:
    viewport, most = VIEWPORTS[name]
    # No JavaScript: the meetings must unfold without it.
    context = browser.new_context(locale="nl-NL", viewport=viewport, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{site.url}/events/{site.names['series']}/")
        assert page.locator("article.group-card").count() == 8
        assert page.locator("article.session-card").count() == 0
        height = page.evaluate("document.documentElement.scrollHeight")
        assert height <= most, f"{height} px tall"
        page.screenshot(path=str(tmp_path / f"groups-{name}.png"), full_page=True)

        meetings = page.locator("details.group-meetings").first
        assert not meetings.locator("li").first.is_visible()
        meetings.locator("summary").click()
        assert meetings.locator("li").count() == 6 and meetings.locator("li").first.is_visible()
        # Opened, the card still fits: nothing sticks out sideways.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"]
        page.screenshot(path=str(tmp_path / f"groups-{name}-opened.png"), full_page=True)
    finally:
        context.close()
