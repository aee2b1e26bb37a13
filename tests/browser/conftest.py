"""Browser fixtures: one Chromium for the whole run, shared by every browser test module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import availability
from tests.browser.site import Site, demo_site


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium for the run; skipped or failed (REQUIRE_BROWSER) when there is none."""
    sync_api = availability.playwright_api()
    playwright, browser = availability.launch(sync_api, availability.chromium_path())
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture(scope="module")
def site(migrated_url: str) -> Iterator[Site]:
    """The demo site (tests/browser/site.py), built and served once per module."""
    with demo_site(migrated_url) as served:
        yield served
