"""The whole registration by keyboard alone, with the focus visible at every step.

Only ``page.keyboard`` moves and acts: Tab to reach a control, typing, Space, Enter and the
arrow keys to use it; the test never clicks and never sets a value. After every key press
the focused element must show a focus ring of at least 2 pixels.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.site import Site

# What the focused element is, and whether it shows a focus ring one can see.
FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return {ok: false, what: "nothing (body)"};
  const style = getComputedStyle(el), box = el.getBoundingClientRect();
  const ring = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
  // WCAG 2.4.11 (Focus Not Obscured): at least part of it in view. Chrome does not scroll
  // a field that is partly in view already, e.g. a text area at the bottom edge.
  const onScreen = box.width > 0 && box.height > 0 && box.right > 0 && box.bottom > 0
    && box.left < innerWidth && box.top < innerHeight && box.left >= 0;
  return {ok: el.matches(":focus-visible") && ring && onScreen,
          what: el.outerHTML.slice(0, 140), id: el.id, text: el.innerText || "",
          ring: style.outlineStyle + " " + style.outlineWidth, onScreen};
}"""
MAX_TABS = 80


@pytest.fixture
def page(browser, site: Site) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="nl-NL", viewport={"width": 390, "height": 844})
    yield context.new_page()
    context.close()


def focused(page: Any) -> dict[str, Any]:
    return page.evaluate(FOCUS)


def press(page: Any, key: str) -> dict[str, Any]:
    """Press ``key``; the element that has the focus then must show it."""
    page.keyboard.press(key)
    now = focused(page)
    assert now["ok"], f"after {key} the focus is not visible: {now}"
    return now


def tab_to(page: Any, selector: str) -> None:
    """Tab forward until the focused element matches ``selector``, checking each stop."""
    for _ in range(MAX_TABS):
        press(page, "Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    pytest.fail(f"{selector} is not reachable with Tab")


def test_register_with_the_keyboard_alone(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{site.url}/events/{site.names['roses']}/")

    # The first Tab lands on a visible skip link; it moves the focus to the content.
    first = press(page, "Tab")
    assert "skip-link" in first["what"] and first["onScreen"], first
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    tab_to(page, "a.button")  # "Inschrijven"
    with page.expect_navigation():
        page.keyboard.press("Enter")

    tab_to(page, "select#profession")
    for _ in range(20):  # the arrow keys walk the options of a closed select
        if page.evaluate("document.activeElement.value") == "gz-psycholoog":
            break
        press(page, "ArrowDown")
    assert page.evaluate("document.activeElement.value") == "gz-psycholoog"
    tab_to(page, "button[type=submit]")  # "Verder"
    with page.expect_navigation():
        page.keyboard.press("Enter")

    for selector, text in [
        ("#name", "Kees Toetsenbord"),
        ("#email", "kees@example.org"),
        ("#identifier_NIP", "NIP-00012345"),
    ]:
        tab_to(page, selector)
        page.keyboard.type(text)
    # Past the phone number and the text area, into the first round's radio group (on "no
    # workshop"), then down to its first workshop.
    tab_to(page, "fieldset.round input[type=radio]")
    press(page, "ArrowDown")
    assert page.evaluate("document.activeElement.checked && document.activeElement.value")
    tab_to(page, "#consent")
    press(page, "Space")
    assert page.evaluate("document.activeElement.checked")
    tab_to(page, "form.stacked button[type=submit]")  # "Inschrijven"
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert "/r/" in page.url, page.url
    text = page.locator("main").inner_text()
    assert "uw inschrijving is binnen" in text
    assert "Ingeschreven" in text


def test_errors_take_the_focus_and_lead_to_their_fields(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{site.url}/events/{site.names['roses']}/register?profession=gz-psycholoog")
    tab_to(page, "#email")
    page.keyboard.type("geen adres")
    tab_to(page, "form.stacked button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    # The summary has the focus, and lists every problem as a link to its field.
    summary = focused(page)
    assert "error-summary" in summary["what"], summary
    links = page.locator(".error-summary a")
    targets = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert {"#name", "#email", "#consent"} <= set(targets), targets
    for href in targets:
        field = page.locator(href)
        assert field.get_attribute("aria-invalid") == "true", href
        described = (field.get_attribute("aria-describedby") or "").split()
        messages = [page.locator(f"#{i}").inner_text() for i in described]
        assert any(m and m in page.locator(f"a[href='{href}']").inner_text() for m in messages)

    # Tab reaches the first link; Enter on it puts the focus in that field.
    press(page, "Tab")
    page.keyboard.press("Enter")
    assert "#" + page.evaluate("document.activeElement.id") == targets[0]
