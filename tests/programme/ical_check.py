"""An independent check of iCalendar output with libical (C, via ctypes).

icalendar both writes and re-reads our files, so it cannot catch its own mistakes; libical is
what Evolution and many servers use. :func:`errors` parses the text with
``icalparser_parse_string``, runs ``icalrestriction_check`` (RFC 5546's per-METHOD tables:
which properties a VEVENT in a REQUEST, CANCEL or PUBLISH must, may or must not have) and
returns every X-LIC-ERROR that parsing and the check attached to any component.

libical does not flag everything we need, so two rules are added here by hand:

* every TZID used by a property is defined by a VTIMEZONE in the same calendar (libical
  resolves unknown TZIDs against its own built-in zones without complaint, but a receiving
  client without that fallback would misplace the event);
* every VEVENT of a REQUEST or CANCEL has a SEQUENCE (RFC 5546 lets a REQUEST omit it while
  it is 0, so libical accepts its absence; our updates and cancellations are only ordered
  correctly by clients if the first invitation already carries one).

libical comes from the Debian package ``libical3``. Without it the tests that need it are
skipped, or fail when the environment variable REQUIRE_LIBICAL is set (as CI should).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from functools import cache

import pytest

REQUIRE_ENV = "REQUIRE_LIBICAL"
MISSING = "libical not found (install the Debian package libical3)"

c_ptr = ctypes.c_void_p


@cache
def library() -> ctypes.CDLL | None:
    """libical with the prototypes used here, or None when it is not installed."""
    names = [ctypes.util.find_library("ical"), "libical.so.3"]
    for name in filter(None, names):
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        _declare(lib)
        return lib
    return None


def _declare(lib: ctypes.CDLL) -> None:
    signatures = {
        "icalparser_parse_string": (c_ptr, [ctypes.c_char_p]),
        "icalrestriction_check": (ctypes.c_int, [c_ptr]),
        "icalcomponent_free": (None, [c_ptr]),
        "icalcomponent_isa": (ctypes.c_int, [c_ptr]),
        "icalcomponent_kind_to_string": (ctypes.c_char_p, [ctypes.c_int]),
        "icalcomponent_string_to_kind": (ctypes.c_int, [ctypes.c_char_p]),
        "icalcomponent_get_first_component": (c_ptr, [c_ptr, ctypes.c_int]),
        "icalcomponent_get_next_component": (c_ptr, [c_ptr, ctypes.c_int]),
        "icalcomponent_get_first_property": (c_ptr, [c_ptr, ctypes.c_int]),
        "icalcomponent_get_next_property": (c_ptr, [c_ptr, ctypes.c_int]),
        "icalproperty_string_to_kind": (ctypes.c_int, [ctypes.c_char_p]),
        "icalproperty_isa": (ctypes.c_int, [c_ptr]),
        "icalproperty_get_value_as_string": (ctypes.c_char_p, [c_ptr]),
        "icalproperty_get_property_name": (ctypes.c_char_p, [c_ptr]),
        "icalproperty_get_parameter_as_string": (ctypes.c_char_p, [c_ptr, ctypes.c_char_p]),
        "icalproperty_get_first_parameter": (c_ptr, [c_ptr, ctypes.c_int]),
        "icalparameter_as_ical_string": (ctypes.c_char_p, [c_ptr]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes


def require() -> ctypes.CDLL:
    """libical, or skip the calling test (fail instead when REQUIRE_LIBICAL is set)."""
    lib = library()
    if lib is None:
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{MISSING}; {REQUIRE_ENV} is set")
        pytest.skip(MISSING)
    return lib


# --------------------------------------------------------------------------- walking


def _kind(lib: ctypes.CDLL, name: str) -> int:
    return lib.icalcomponent_string_to_kind(name.encode())


def _prop_kind(lib: ctypes.CDLL, name: str) -> int:
    return lib.icalproperty_string_to_kind(name.encode())


def _components(lib: ctypes.CDLL, root: int) -> list[int]:
    """``root`` and all components below it, depth first."""
    any_kind = _kind(lib, "ANY")
    found, stack = [], [root]
    while stack:
        component = stack.pop()
        found.append(component)
        child = lib.icalcomponent_get_first_component(component, any_kind)
        while child:
            stack.append(child)
            child = lib.icalcomponent_get_next_component(component, any_kind)
    return found


def _properties(lib: ctypes.CDLL, component: int, name: str | None = None) -> list[int]:
    kind = _prop_kind(lib, name) if name else 0  # 0 is ICAL_ANY_PROPERTY
    found = []
    prop = lib.icalcomponent_get_first_property(component, kind)
    while prop:
        found.append(prop)
        prop = lib.icalcomponent_get_next_property(component, kind)
    return found


def _name(lib: ctypes.CDLL, component: int) -> str:
    return lib.icalcomponent_kind_to_string(lib.icalcomponent_isa(component)).decode()


def _text(raw: bytes | None) -> str:
    return (raw or b"").decode("utf-8", "replace")


# --------------------------------------------------------------------------- checks


def errors(ical: bytes | str) -> list[str]:
    """Every problem libical and the added rules find; empty when the calendar is valid."""
    lib = require()
    data = ical.encode() if isinstance(ical, str) else ical
    if not data:  # libical would read a NULL pointer
        return ["no calendar"]
    root = lib.icalparser_parse_string(data)
    if not root:
        return ["libical could not parse the text"]
    try:
        problems = []
        if _name(lib, root) != "VCALENDAR":
            problems.append(f"top-level component is {_name(lib, root)}, not one VCALENDAR")
        lib.icalrestriction_check(root)
        for component in _components(lib, root):
            for prop in _properties(lib, component, "X-LIC-ERROR"):
                message = _text(lib.icalproperty_get_value_as_string(prop))
                problems.append(f"{_name(lib, component)}: {_error_type(lib, prop)}: {message}")
        problems += _undefined_tzids(lib, root)
        problems += _missing_sequence(lib, root)
        return problems
    finally:
        lib.icalcomponent_free(root)


def _error_type(lib: ctypes.CDLL, prop: int) -> str:
    """E.g. INVALID-ITIP or PARSE-ERROR, from the X-LIC-ERRORTYPE parameter."""
    parameter = lib.icalproperty_get_first_parameter(prop, 0)  # 0 is ICAL_ANY_PARAMETER
    return _text(lib.icalparameter_as_ical_string(parameter) if parameter else None).split("=")[-1]


def _undefined_tzids(lib: ctypes.CDLL, root: int) -> list[str]:
    """Added rule: each TZID parameter must name a VTIMEZONE of this calendar."""
    components = _components(lib, root)
    defined = {
        _text(lib.icalproperty_get_value_as_string(prop))
        for component in components
        if _name(lib, component) == "VTIMEZONE"
        for prop in _properties(lib, component, "TZID")
    }
    problems = []
    for component in components:
        for prop in _properties(lib, component):
            tzid = lib.icalproperty_get_parameter_as_string(prop, b"TZID")
            if tzid is not None and _text(tzid) not in defined:
                name = _text(lib.icalproperty_get_property_name(prop))
                problems.append(
                    f"{_name(lib, component)}: {name}: TZID {_text(tzid)} has no VTIMEZONE"
                )
    return problems


def _missing_sequence(lib: ctypes.CDLL, root: int) -> list[str]:
    """Added rule: a VEVENT in a REQUEST or CANCEL carries SEQUENCE."""
    methods = [
        _text(lib.icalproperty_get_value_as_string(p)) for p in _properties(lib, root, "METHOD")
    ]
    if not set(methods) & {"REQUEST", "CANCEL"}:
        return []
    return [
        "VEVENT: SEQUENCE missing in a " + "/".join(methods)
        for component in _components(lib, root)
        if _name(lib, component) == "VEVENT" and not _properties(lib, component, "SEQUENCE")
    ]


def line_errors(ical: bytes) -> list[str]:
    """RFC 5545 §3.1 framing: CRLF line ends only and no line longer than 75 octets."""
    problems = []
    if not ical.endswith(b"\r\n"):
        problems.append("does not end with CRLF")
    for number, line in enumerate(ical.split(b"\r\n"), start=1):
        if b"\n" in line or b"\r" in line:
            problems.append(f"line {number}: bare LF or CR")
        if len(line) > 75:
            problems.append(f"line {number}: {len(line)} octets")
    return problems
