"""The browser tests skip without a working browser, and fail instead under REQUIRE_BROWSER.

The real Playwright and Chromium are replaced by fakes, so these run on any machine.
"""

from types import SimpleNamespace

import pytest

from tests.browser import availability


def no_playwright(name: str):  # type: ignore[no-untyped-def]
    raise ModuleNotFoundError(f"No module named {name!r}")


class FakeSyncApi:
    """Stands in for ``playwright.sync_api``; its Chromium starts or raises ``error``."""

    def __init__(self, error: Exception | None = None):
        self.error = error
        self.stopped = False

    def sync_playwright(self):  # type: ignore[no-untyped-def]
        return SimpleNamespace(start=lambda: self)

    @property
    def chromium(self):  # type: ignore[no-untyped-def]
        return SimpleNamespace(launch=self._launch)

    def _launch(self, executable_path: str, args: list[str]) -> str:
        if self.error is not None:
            raise self.error
        return f"browser at {executable_path}"

    def stop(self) -> None:
        self.stopped = True


MISSING = {
    "playwright": (lambda: availability.playwright_api(no_playwright), "playwright"),
    "chromium": (
        lambda: availability.chromium_path(which=lambda _: None, exists=lambda _: False),
        "apt-get install chromium",
    ),
    "unlaunchable": (
        lambda: availability.launch(FakeSyncApi(OSError("libnss3.so missing")), "/x/chromium"),
        "does not start: libnss3.so missing",
    ),
}


@pytest.mark.parametrize("missing", MISSING)
def test_missing_browser_skips_with_the_reason(missing: str, monkeypatch) -> None:
    check, reason = MISSING[missing]
    monkeypatch.delenv(availability.REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match=reason):
        check()


@pytest.mark.parametrize("missing", MISSING)
def test_missing_browser_fails_when_required(missing: str, monkeypatch) -> None:
    check, reason = MISSING[missing]
    monkeypatch.setenv(availability.REQUIRE_ENV, "1")
    # A skip escaping here would skip this test instead of failing it: catch both.
    with pytest.raises((pytest.fail.Exception, pytest.skip.Exception)) as raised:
        check()
    assert raised.type is pytest.fail.Exception
    assert raised.match(f"{reason}.*REQUIRE_BROWSER is set")


def test_unlaunchable_chromium_stops_playwright(monkeypatch) -> None:
    monkeypatch.delenv(availability.REQUIRE_ENV, raising=False)
    api = FakeSyncApi(RuntimeError("crashed"))
    with pytest.raises(pytest.skip.Exception):
        availability.launch(api, "/x/chromium")
    assert api.stopped


def test_a_working_browser_is_used(monkeypatch) -> None:
    monkeypatch.setenv(availability.REQUIRE_ENV, "1")
    real = object()
    assert availability.playwright_api(lambda name: real) is real
    path = availability.chromium_path(which=lambda _: "/opt/chromium", exists=lambda _: True)
    assert path == "/opt/chromium"
    api = FakeSyncApi()
    assert availability.launch(api, path) == (api, "browser at /opt/chromium")
    assert not api.stopped
