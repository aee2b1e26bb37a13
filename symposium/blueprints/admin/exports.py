"""Back-office exports: all registrations and per-session lists as CSV/XLSX, and a print list.

Files carry personal data, so they are never cached and always download as attachments.
"""

from __future__ import annotations

import re

from flask import render_template, request
from werkzeug.wrappers import Response

from symposium import clock
from symposium.blueprints.admin import asked_meeting, bp, requires, session_or_404
from symposium.extensions import db
from symposium.models import Event, Session
from symposium.services.accounts import access
from symposium.services.backoffice import exports


def filename(*parts: str, ext: str) -> str:
    """ASCII letters, digits, '-' and '_' only: safe in every browser and file system."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", "-".join(parts)).strip("-")
    return f"{stem or 'export'}.{ext}"


def download(body: bytes, mimetype: str, filename: str, inline: bool = False) -> Response:
    """A file to save (or, ``inline``, to open in the browser: a PDF to look at first)."""
    response = Response(body, content_type=mimetype)
    response.headers.set(
        "Content-Disposition", "inline" if inline else "attachment", filename=filename
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _delimiter() -> str:
    """Comma by default; ``?delimiter=semicolon`` for Excel with Dutch regional settings."""
    return ";" if request.args.get("delimiter") == "semicolon" else ","


@bp.get("/events/<slug>/registrations.csv")
@requires(access.MANAGE)
def export_registrations_csv(event: Event) -> Response:
    table = exports.registrations_table(db.session, event)
    body = exports.to_csv(table.columns, table.rows, delimiter=_delimiter())
    return download(body, exports.CSV_MIMETYPE, filename(event.slug, "registrations", ext="csv"))


@bp.get("/events/<slug>/registrations.xlsx")
@requires(access.MANAGE)
def export_registrations_xlsx(event: Event) -> Response:
    table = exports.registrations_table(db.session, event)
    body = exports.to_xlsx(table.title, table.columns, table.rows)
    return download(body, exports.XLSX_MIMETYPE, filename(event.slug, "registrations", ext="xlsx"))


def _participants(event: Event, session: Session) -> list[exports.Participant]:
    """A session's participants with their presence (a group's: at ``?meeting=``, by
    default the current meeting)."""
    meeting = asked_meeting(session, clock.now())
    return exports.session_participants(db.session, event, session, meeting)


@bp.get("/events/<slug>/sessions/<int:session_id>/participants.csv")
@requires(access.MANAGE)
def export_participants_csv(event: Event, session_id: int) -> Response:
    session = session_or_404(event, session_id)
    participants = _participants(event, session)
    table = exports.participants_table(event, session, participants)
    body = exports.to_csv(table.columns, table.rows, delimiter=_delimiter())
    name = filename(event.slug, session.key, "participants", ext="csv")
    return download(body, exports.CSV_MIMETYPE, name)


@bp.get("/events/<slug>/sessions/<int:session_id>/participants.xlsx")
@requires(access.MANAGE)
def export_participants_xlsx(event: Event, session_id: int) -> Response:
    session = session_or_404(event, session_id)
    participants = _participants(event, session)
    table = exports.participants_table(event, session, participants)
    body = exports.to_xlsx(table.title, table.columns, table.rows)
    name = filename(event.slug, session.key, "participants", ext="xlsx")
    return download(body, exports.XLSX_MIMETYPE, name)


@bp.get("/events/<slug>/sessions/<int:session_id>/participants/print")
@requires(access.MANAGE)
def print_participants(event: Event, session_id: int) -> Response:
    """A signature sheet for the door: confirmed participants, then the waiting list."""
    session = session_or_404(event, session_id)
    participants = _participants(event, session)
    page = render_template(
        "admin/print_session.html",
        event=event,
        session=session,
        confirmed=[p for p in participants if p.is_confirmed],
        waiting=[p for p in participants if not p.is_confirmed],
    )
    response = Response(page, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response
