"""The error every rule raises: a stable code for the API, a message for people, the field."""

from __future__ import annotations


class RuleError(Exception):
    """A rule refused the request; ``code`` is stable (the API returns it), ``message`` is shown."""

    def __init__(self, code: str, message: object, field: str | None = None, status: int = 422):
        super().__init__(str(message))
        self.code = code
        self.message = message
        self.field = field
        self.status = status
