"""What text from outside may contain: the one definition the input guard, the forms and the
services share.

No person types the C0 controls (other than tab and the line breaks) or DEL, and
PostgreSQL cannot store NUL at all; a one-line value (a name, an organisation, a title) must
not break a line either, where it ends up in mail, CSV files or logs.
"""

from __future__ import annotations

import re

# C0 controls except tab, line feed and carriage return, plus DEL. NUL is among them.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# What ends a line somewhere: a mail client, a CSV reader, a log line.
LINE_BREAK = re.compile(r"[\r\n\x85\u2028\u2029]")


def has_control(text: str) -> bool:
    return CONTROL.search(text) is not None


def single_line_problem(text: str) -> str | None:
    """Why ``text`` cannot be a one-line value: ``"control"``, ``"line_break"``, or None."""
    if has_control(text):
        return "control"
    if LINE_BREAK.search(text):
        return "line_break"
    return None


def normal_lines(text: str) -> str:
    """Line breaks as LF: browsers send a textarea's as CRLF, and paragraphs are split on
    an empty line."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()
