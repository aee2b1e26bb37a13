"""One guard for all input: control characters and oversized bodies never reach a view.

PostgreSQL cannot store NUL (``cannot contain NUL`` was a 500), and no person types the
other C0 controls or DEL: they come from broken clients, copy-paste accidents and probes.
So before any view runs, :func:`check_request` refuses them in the path, the query string,
the header values, every form field (names and values) and every string of a JSON body
(keys and values). Tab, line feed and carriage return pass here, because multi-line fields
need them; single-line fields refuse line breaks themselves (:func:`single_line_problem`,
used by the forms' :class:`SingleLine` validator and by the registration service), so that
refusal can stand next to the field.

Browsers answer with the 400 page ``errors/400.html`` naming the field; the API with
``{"error": {"code": "invalid_text", ...}}``: 422 for a body field (as the service answers
for a bad field), 400 for the address or a header. Request bodies larger than
``MAX_CONTENT_LENGTH`` (urlencoded, multipart and JSON alike) are refused by Werkzeug with a
413, answered by the error pages in ``symposium/__init__.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from flask import Flask, render_template, request
from flask.globals import request_ctx
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response
from wtforms import Field, Form, ValidationError

from symposium.services.core.text import has_control, single_line_problem

FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


class InvalidInput(Exception):
    """A control character in the request; ``where`` names the field, parameter or header."""

    def __init__(self, where: str, in_body: bool):
        super().__init__(where)
        self.where = where
        self.in_body = in_body


# Ids are database integers: at most 18 ASCII digits fit a BIGINT (and Python's int()).
_ID = re.compile(r"[0-9]{1,18}")


def whole_number(text: object) -> int | None:
    """A form's id (``"12"``) as an int, or None: not ``"²"`` or ``"٣"`` (``str.isdigit``
    accepts those, and ``int`` fails on the first), nor a number no column can hold."""
    return int(text) if isinstance(text, str) and _ID.fullmatch(text) else None


def _json_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(dotted path, string) for every key and string value of a parsed JSON document."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            yield where, str(key)
            yield from _json_strings(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_strings(item, f"{path}.{index}" if path else str(index))


def find_control() -> InvalidInput | None:
    """The first place in the current request that holds a control character, or None."""
    if has_control(request.path):
        return InvalidInput("path", False)
    for key, value in request.args.items(multi=True):
        if has_control(key) or has_control(value):
            return InvalidInput(key, False)
    for key, value in request.headers.items():
        if has_control(value):
            return InvalidInput(key, False)
    if request.mimetype in FORM_TYPES:
        for key, value in request.form.items(multi=True):  # may raise 413: too large
            if has_control(key) or has_control(value):
                return InvalidInput(key, True)
        for key, upload in request.files.items(multi=True):
            if has_control(key) or has_control(upload.filename or ""):
                return InvalidInput(key, True)
    elif request.is_json:
        try:  # cached: the view reads the very same bytes
            payload = json.loads(request.get_data(cache=True) or b"null")
        except (ValueError, RecursionError):
            return None  # not JSON: the view answers that (invalid_json)
        for where, text in _json_strings(payload):
            if has_control(text):
                return InvalidInput(where or "body", True)
    return None


MESSAGE = _l(
    "Remove the invisible control characters. They sometimes come along when text is "
    "copied from another program."
)


def refusal(problem: InvalidInput) -> Response | tuple[Any, int]:
    """The answer to a request with a control character (see the module docstring)."""
    if request.path.startswith("/api/") or request.is_json:
        status = 422 if problem.in_body else 400
        message = f"{problem.where} contains a control character; remove it."
        return Response(
            # The API's Error body (blueprints/api/schemas.py), which imports no further here.
            json.dumps(
                {"error": {"code": "invalid_text", "message": message, "field": problem.where}}
            ),
            status=status,
            mimetype="application/json",
        )
    return render_template("errors/400.html", field=problem.where, message=MESSAGE), 400


def check_request() -> Response | tuple[Any, int] | None:
    """Flask ``before_request``: refuse the request before any view (or CSRF check) reads it.

    A Host outside TRUSTED_HOSTS leaves the request without a URL adapter, so no page can be
    rendered for it (``url_for`` fails): its 400 is raised first, before anything else runs.
    """
    if request_ctx.url_adapter is None and request.routing_exception is not None:
        raise request.routing_exception
    problem = find_control()
    return refusal(problem) if problem is not None else None


def init_app(app: Flask) -> None:
    """Run the guard first, before every other ``before_request`` (CSRF, rate limits)."""
    app.before_request_funcs.setdefault(None, []).insert(0, check_request)


LINE_BREAK_MESSAGE = _l("Use one line: remove the line breaks.")


class SingleLine:
    """WTForms validator: one line, no control characters (names, titles, addresses)."""

    def __call__(self, form: Form, field: Field) -> None:
        if isinstance(field.data, str) and single_line_problem(field.data):
            raise ValidationError(str(LINE_BREAK_MESSAGE))
