"""Sorting people as a Dutch list does: by surname, its particles ("van der", "de") aside.

"Jan van der Berg" sorts under B, with "Anna Berg"; "Zoë Çelik" with "Celik" under C. Names
are one field (people write them as they like), so the surname is found, not asked for: the
words after the first particle that follows the given name, else the last word. One place,
used by the sign-in sheets, the badges and the exports.
"""

from __future__ import annotations

import unicodedata
from typing import NamedTuple

# Dutch tussenvoegsels, and the German, French, Iberian and Arabic ones Dutch lists also set
# aside ("Fatima el Amrani" under A).
PARTICLES = frozenset(
    [
        "van", "de", "der", "den", "het", "'t", "ter", "ten", "te", "in", "op", "aan", "bij",
        "uit", "onder", "over", "voor", "vd", "v/d",
        "von", "zu", "vom", "zum", "la", "le", "du", "da", "di", "del", "della", "des", "dos",
        "das",
        "el", "al", "ibn", "bin",
    ]
)  # fmt: skip
# Letters that Unicode does not decompose into a base letter and an accent.
_FOLDED = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe", "ı": "i"})


class Name(NamedTuple):
    given: str
    particles: str
    surname: str


def fold(text: str) -> str:
    """Without accents or case: "Çelik" compares as "celik"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_FOLDED))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def split(name: str) -> Name:
    """Given name(s), particles and surname of a name as people write it."""
    words = name.split()
    if len(words) <= 1:
        return Name("", "", name.strip())
    for i in range(1, len(words) - 1):
        if words[i].casefold() in PARTICLES:
            j = i
            while j < len(words) - 1 and words[j].casefold() in PARTICLES:
                j += 1
            return Name(" ".join(words[:i]), " ".join(words[i:j]), " ".join(words[j:]))
    return Name(" ".join(words[:-1]), "", words[-1])


def sort_key(name: str) -> tuple[str, str, str, str]:
    """Surname, then given name, then particles, accents and case aside."""
    given, particles, surname = split(name)
    return fold(surname), fold(given), fold(particles), name


def initial(name: str) -> str:
    """The letter a name is filed under (A–Z), or "#" for a surname not starting with one."""
    letter = fold(split(name).surname)[:1].upper()
    return letter if "A" <= letter <= "Z" else "#"


def initials(name: str) -> tuple[str, str]:
    """("J.", "van der Berg") for "Jan van der Berg": initials and surname with its particles,
    as registers' attendance lists ask for them (voorletters, achternaam)."""
    given, particles, surname = split(name)
    letters = "".join(f"{part[0].upper()}." for part in given.replace("-", " ").split() if part)
    return letters, f"{particles} {surname}".strip()
