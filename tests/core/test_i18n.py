"""Every user-facing string is in both catalogs, translated, and compiled."""

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from symposium.config import ROOT

TRANSLATIONS = ROOT / "symposium" / "translations"
METHODS = [
    ("symposium/**.py", "python"),
    ("templates/**.html", "jinja2"),
    ("templates/**.txt", "jinja2"),
]
KEYWORDS = {"_": None, "_l": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None}


def source_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, keywords=KEYWORDS
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def catalog(locale: str, kind: str):  # type: ignore[no-untyped-def]
    path = TRANSLATIONS / locale / "LC_MESSAGES" / f"messages.{kind}"
    with Path(path).open("rb") as fh:
        return read_po(fh) if kind == "po" else read_mo(fh)


@pytest.mark.parametrize("locale", ["nl", "en"])
def test_catalog_is_complete(locale: str) -> None:
    po = catalog(locale, "po")
    translated = {}
    for message in po:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        translated[key] = all(strings) and not message.fuzzy
    wanted = source_messages()
    assert wanted, "extraction found nothing"
    assert sorted(wanted - translated.keys()) == [], "run scripts/i18n.py"
    assert sorted(k for k in wanted if not translated[k]) == [], "untranslated or fuzzy"


@pytest.mark.parametrize("locale", ["nl", "en"])
def test_compiled_catalog_matches_source(locale: str) -> None:
    po, mo = catalog(locale, "po"), catalog(locale, "mo")

    def pairs(messages):  # type: ignore[no-untyped-def]
        return {
            (tuple(m.id), tuple(m.string)) if m.pluralizable else (m.id, m.string)
            for m in messages
            if m.id
        }

    assert pairs(po) == pairs(mo), "run scripts/i18n.py to recompile"
