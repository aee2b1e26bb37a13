"""Refresh the translation catalogs after changing user-facing text.

    python scripts/i18n.py

Extracts messages, merges them into nl and en, fills the English catalog with the English
source text (the message ids are English), and compiles both. Translate new Dutch entries in
symposium/translations/nl/LC_MESSAGES/messages.po, then run it again to compile.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "symposium" / "translations"
POT = ROOT / "messages.pot"


def pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True, cwd=ROOT)


def main() -> None:
    pybabel("extract", "-F", "babel.cfg", "-k", "_l", "-o", str(POT), "--ignore-dirs=.venv", ".")
    pybabel("update", "-i", str(POT), "-d", str(TRANSLATIONS), "--no-fuzzy-matching", "-w", "100")
    en = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
    with en.open("rb") as fh:
        catalog = read_po(fh)
    for message in catalog:
        if message.id:
            message.string = message.id
    with en.open("wb") as fh:
        write_po(fh, catalog, width=100)
    pybabel("compile", "-d", str(TRANSLATIONS), "--statistics")
    POT.unlink()


if __name__ == "__main__":
    main()
