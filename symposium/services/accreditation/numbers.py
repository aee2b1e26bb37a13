"""Register numbers: the one home of their formats, normalisation and the BIG profession check.

A number is stored as the register writes it (BIG: 11 digits; NIP: ``NIP-`` and 8 digits), as
a string: Excel and PE-online lose leading zeros of numbers. Someone with two BIG professions
(GZ-psycholoog and psychotherapeut) has two BIG numbers; they are kept together, separated
by a comma, and :func:`pick` gives each register the one of its profession. The formats come
from ../shared/reference/accreditation.md (section 2); where none is published (KRP) only
the characters and the length are checked.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from flask_babel import lazy_gettext as _l

from symposium.services.core.errors import RuleError

MAX_LENGTH = 40  # Registration.identifiers values stay one short line
# Between two numbers of one register; spaces and dots inside a number are only grouping.
SEPARATORS = re.compile(r"[,;/\n]+")
GROUPING = re.compile(r"[\s.]+")
PREFIXES = {"BIG": re.compile(r"^BIG[-:]?", re.I), "NIP": re.compile(r"^NIP[-:]?", re.I)}
ANY_NUMBER = re.compile(r"[A-Za-z0-9-]{1,40}")

# The last two digits of a BIG number name the profession (CIBG ProfessionalGroupCode).
BIG_PROFESSIONS = {
    "01": _l("doctor"),
    "02": _l("dentist"),
    "03": _l("midwife"),
    "04": _l("physiotherapist"),
    "16": _l("psychotherapist"),
    "17": _l("pharmacist"),
    "25": _l("healthcare psychologist"),
    "30": _l("nurse"),
}


class NumberRegister(Protocol):
    """What the rules need of a register that issues numbers (``programme.rules.RegisterRule``)."""

    code: str
    pattern: re.Pattern[str] | None
    several: bool

    def identifier_name(self, locale: str) -> str: ...


class AccreditingRegister(Protocol):
    number_registers: Sequence[str]
    big_code: str | None


@dataclass(frozen=True)
class Parsed:
    value: str  # what is stored: the numbers, normalised, joined by ", "
    numbers: tuple[str, ...]


def parse(register: NumberRegister, raw: str) -> Parsed:
    """Normalise what someone typed for ``register``; raise :class:`RuleError` saying what is
    wrong. An empty answer gives an empty :class:`Parsed`."""
    where = f"identifier_{register.code}"
    # Full-width and other compatibility digits become ASCII ones; what is left non-ASCII
    # (Arabic-Indic digits, letters of other scripts) no register takes.
    raw = unicodedata.normalize("NFKC", raw)
    parts = [p for p in (GROUPING.sub("", part) for part in SEPARATORS.split(raw)) if p]
    if len(parts) > 1 and not register.several:
        raise RuleError("invalid_identifier", _l("Enter one number."), where)
    numbers: list[str] = []
    for part in parts:
        number = _normalise(register.code, part)
        if (
            len(number) > MAX_LENGTH
            or not number.isascii()
            or not (register.pattern or ANY_NUMBER).fullmatch(number)
        ):
            raise RuleError("invalid_identifier", _problem(register.code, number), where)
        if number not in numbers:
            numbers.append(number)
    value = ", ".join(numbers)
    if len(value) > MAX_LENGTH:
        raise RuleError(
            "invalid_identifier", _l("At most %(num)d characters.", num=MAX_LENGTH), where
        )
    return Parsed(value, tuple(numbers))


DIGITS_ONLY = ("BIG", "REGISTERPLEIN", "VENVN")


def _normalise(code: str, number: str) -> str:
    """The register's own form: prefixes and grouping removed, NIP numbers padded to 8."""
    prefix = PREFIXES.get(code)
    if prefix is not None:
        number = prefix.sub("", number)
    if code in DIGITS_ONLY:
        return number.replace("-", "")
    if code == "NIP":  # the membership number padded to 8 digits, from 4 given
        number = number.lstrip("-")
        return f"NIP-{number.zfill(8) if _digits(number) and len(number) >= 4 else number}"
    return number.upper()


def _digits(text: str) -> bool:
    """Only the digits 0–9 (``str.isdigit`` also takes ² and other scripts' digits)."""
    return text.isascii() and text.isdigit()


def _problem(code: str, number: str) -> object:
    """Say what is wrong with a number rather than repeating the hint."""
    digits = sum(c.isdigit() for c in number)
    if code == "BIG":
        if not _digits(number):
            return _l("A BIG number has digits only.")
        return _l("%(given)d digits entered, 11 needed.", given=digits)
    if code == "VENVN":
        if not _digits(number):
            return _l("A V&VN relation number has digits only.")
        return _l("%(given)d digits entered, 6 needed.", given=digits)
    if code == "REGISTERPLEIN":
        if not _digits(number):
            return _l("A Registerplein number has digits only.")
        return _l("A Registerplein number starts with 4610.")
    if code == "NIP":
        return _l("An NIP number is NIP- followed by 8 digits, such as NIP-00123456.")
    return _l("Use letters, digits and hyphens only.")


def split(value: str | None) -> list[str]:
    """The numbers stored in one ``Registration.identifiers`` value."""
    return [n for n in (p.strip() for p in (value or "").split(",")) if n]


def shown(identifiers: Mapping[str, str] | None) -> str:
    """A person's numbers on one line, for print: "BIG 19012345601 · NIP-00012345" (a
    number that names its register already is not prefixed twice)."""
    return " · ".join(
        value if value.startswith(f"{code}-") else f"{code} {value}"
        for code, value in sorted((identifiers or {}).items())
        if value
    )


def big_mismatch(numbers: Iterable[str], codes: Iterable[str]) -> str | None:
    """The profession code of the BIG numbers given when none ends in one of ``codes`` (the
    codes the person's registers expect), else None. A warning, never a refusal: the
    person may know better (a second profession, a number we cannot check)."""
    wanted = set(codes)
    given = list(numbers)
    if not wanted or not given or any(n[-2:] in wanted for n in given):
        return None
    return given[0][-2:]


def big_warning(given: str, codes: Iterable[str]) -> object:
    """The message for :func:`big_mismatch`: what the number says, what was expected."""
    expected = sorted(set(codes))
    return _l(
        "This BIG number ends in %(given)s (%(given_name)s), while for your profession we "
        "expect one ending in %(expected)s (%(expected_name)s). Is it right? Then confirm it "
        "with the box below.",
        given=given,
        given_name=BIG_PROFESSIONS.get(given, "?"),
        expected=" / ".join(expected),
        expected_name=" / ".join(str(BIG_PROFESSIONS.get(c, "?")) for c in expected),
    )


def pick(identifiers: Mapping[str, str] | None, register: AccreditingRegister) -> str | None:
    """The number ``register`` takes attendance by, from a registration's numbers: the first
    of its number registers the person gave, and of several BIG numbers the one of the
    register's profession (a psychotherapy register takes the number ending in 16)."""
    for code in register.number_registers:
        numbers = split((identifiers or {}).get(code))
        if not numbers:
            continue
        if code == "BIG" and register.big_code:
            own = [n for n in numbers if n.endswith(register.big_code)]
            return (own or numbers)[0]
        return numbers[0]
    return None
