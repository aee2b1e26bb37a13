"""Reading a TOML table of an event file: typed values, every problem collected with its path.

Shared by the event file (``programme.event_files``) and its accreditation tables
(``accreditation.event_file``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from symposium.clock import localise


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class EventFileError(ValueError):
    """The file is not a valid event definition; ``problems`` lists every fault found."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


class Reader:
    """Typed access to a TOML table that records a problem instead of raising."""

    def __init__(self, problems: list[Problem], zone: ZoneInfo):
        self.problems = problems
        self.zone = zone

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def table(self, data: Any, path: str, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.problem(path, "must be a table")
            return {}
        for key in sorted(set(data) - allowed):
            self.problem(f"{path}.{key}" if path else key, "unknown key")
        return data

    def text(
        self, data: dict[str, Any], key: str, path: str, *, required: bool = False,
        max_length: int | None = None, default: str = "",
    ) -> str:  # fmt: skip
        value = data.get(key)
        where = join(path, key)
        if value is None:
            if required:
                self.problem(where, "is required")
            return default
        if not isinstance(value, str):
            self.problem(where, "must be a string")
            return default
        value = value.strip()
        if required and not value:
            self.problem(where, "must not be empty")
        if max_length is not None and len(value) > max_length:
            self.problem(where, f"is longer than {max_length} characters")
        return value

    def text_list(self, data: dict[str, Any], key: str, path: str) -> list[str]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(join(path, key), "must be a list of strings")
            return []
        return [v.strip() for v in value]

    def integer(
        self, data: dict[str, Any], key: str, path: str, *, minimum: int = 0,
        required: bool = False,
    ) -> int | None:  # fmt: skip
        value = data.get(key)
        where = join(path, key)
        if value is None:
            if required:
                self.problem(where, "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(where, "must be a whole number")
            return None
        if value < minimum:
            self.problem(where, f"must be at least {minimum}")
            return None
        return value

    def instant(
        self, data: dict[str, Any], key: str, path: str, *, required: bool = False
    ) -> datetime | None:
        value = data.get(key)
        where = join(path, key)
        if value is None:
            if required:
                self.problem(where, "is required")
            return None
        if not isinstance(value, datetime):
            kind = "a date" if isinstance(value, date) else type(value).__name__
            self.problem(where, f"must be a date and time (e.g. 2027-03-18T09:30:00), not {kind}")
            return None
        if value.tzinfo is not None:
            return value.astimezone(UTC)
        try:
            return localise(value, self.zone)
        except ValueError as exc:
            self.problem(where, str(exc))
            return None

    def choice(
        self, data: dict[str, Any], key: str, path: str, choices: tuple[str, ...], default: str
    ) -> str:
        value = data.get(key, default)
        if value not in choices:
            self.problem(join(path, key), f"must be one of: {', '.join(choices)}")
            return default
        return value

    def number(
        self, data: dict[str, Any], key: str, path: str, *, what: str, maximum: int = 1000
    ) -> Decimal | None:
        """A non-negative number with two decimals (hours, points), or None when absent."""
        value = data.get(key)
        if value is None:
            return None
        where = join(path, key)
        try:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidOperation
            number = Decimal(str(value))
            if not number.is_finite():
                raise InvalidOperation
            number = number.quantize(Decimal("0.01"))
        except InvalidOperation:
            self.problem(where, f"must be a number of {what}, e.g. 1.5")
            return None
        if number < 0 or number >= maximum:
            self.problem(where, f"must be between 0 and {maximum - Decimal('0.01')}")
            return None
        return number

    def day(self, data: dict[str, Any], key: str, path: str) -> date | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, datetime) or not isinstance(value, date):
            self.problem(join(path, key), "must be a date (e.g. 2027-05-18)")
            return None
        return value


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
