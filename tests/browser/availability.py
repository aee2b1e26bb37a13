"""Whether the browser tests can run here, and what happens when they cannot.

They need Playwright (a Python package) and Debian's Chromium, started by Playwright. When
either is missing, or Chromium does not start, the tests are skipped with the reason; when the
environment variable REQUIRE_BROWSER is set (as CI sets it) they fail instead, so a machine
without a working browser cannot pass CI by skipping them.
"""

from __future__ import annotations

import importlib
import os
import shutil
from collections.abc import Callable
from types import ModuleType
from typing import Any, NoReturn

import pytest

REQUIRE_ENV = "REQUIRE_BROWSER"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


def unavailable(reason: str) -> NoReturn:
    """Skip the calling test with ``reason``, or fail it when REQUIRE_BROWSER is set."""
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{reason}; {REQUIRE_ENV} is set", pytrace=False)
    pytest.skip(reason)


def playwright_api(import_module: Callable[[str], ModuleType] = importlib.import_module) -> Any:
    """``playwright.sync_api``, or :func:`unavailable` when it cannot be imported."""
    try:
        return import_module("playwright.sync_api")
    except ImportError as exc:
        unavailable(f"playwright is not installed ({exc}); pip install -e '.[test]'")


def chromium_path(
    which: Callable[[str], str | None] = shutil.which,
    exists: Callable[[str], bool] = os.path.exists,
) -> str:
    """Where Chromium is, or :func:`unavailable` when it is not installed."""
    path = which("chromium") or DEFAULT_CHROMIUM
    if not exists(path):
        unavailable(f"Chromium is not installed at {path} (apt-get install chromium)")
    return path


def launch(sync_api: Any, executable: str) -> tuple[Any, Any]:
    """Start Playwright and Chromium: ``(playwright, browser)``; the caller stops both.

    A Chromium that is installed but does not start (a broken package, missing libraries)
    is as unavailable as a missing one.
    """
    playwright = None
    try:
        playwright = sync_api.sync_playwright().start()
        return playwright, playwright.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
    except Exception as exc:
        if playwright is not None:
            playwright.stop()
        unavailable(f"Chromium at {executable} does not start: {exc}")
