"""Back-office exports: all registrations, per-session lists and the catering summary as
CSV/XLSX, the exports page (with the CSV separator to choose), and a print list.

Files carry personal data, so they are never cached and always download as attachments.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice

from symposium import clock
from symposium.blueprints.admin import asked_meeting, bp, requires, session_or_404
from symposium.extensions import db
from symposium.models import Event, Session
from symposium.services.accounts import access
from symposium.services.backoffice import catering, exports
from symposium.services.registration import validation


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


class CsvForm(FlaskForm):
    """The separator of a CSV download: a GET that changes nothing, so no CSRF token.

    Without ``delimiter`` a download is comma-separated, so older links keep working.
    """

    class Meta:
        csrf = False

    delimiter = RadioField(
        _l("CSV separator"),
        choices=[
            SelectChoice("comma", _l("Comma (international)")),
            SelectChoice("semicolon", _l("Semicolon (Dutch Excel)")),
        ],
        default="comma",
        description=_l(
            "Excel with Dutch settings opens a semicolon file directly; other programs "
            "expect a comma. Excel (.xlsx) is right in every setting."
        ),
    )

    def validate(self, extra_validators: Any = None) -> bool:
        if super().validate(extra_validators):
            return True
        self.delimiter.errors = [_l("Choose a comma or a semicolon as the separator.")]
        return False


@bp.get("/events/<slug>/exports")
@requires(access.MANAGE)
def export_page(event: Event) -> str:
    """Every download in one place, and what the caterer and the venue need to know."""
    return _export_page(event, CsvForm(formdata=None))


def _export_page(event: Event, form: CsvForm) -> str:
    return render_template(
        "admin/exports.html",
        event=event,
        form=form,
        sessions=[s for s in event.sessions if validation.enrollable(s)],
        catering=catering.catering_summary(db.session, event),
    )


def _csv_download(
    event: Event, table: Callable[[], exports.Table], name: str
) -> Response | tuple[str, int]:
    """``table`` as CSV with the separator asked for; an unknown one: the exports page, 422."""
    form = CsvForm(request.args)
    if not form.validate():
        return _export_page(event, form), 422
    made = table()
    delimiter = exports.DELIMITERS[form.delimiter.data]
    body = exports.to_csv(made.columns, made.rows, delimiter=delimiter)
    return download(body, exports.CSV_MIMETYPE, name)


@bp.get("/events/<slug>/registrations.csv")
@requires(access.MANAGE)
def export_registrations_csv(event: Event) -> Response | tuple[str, int]:
    return _csv_download(
        event,
        lambda: exports.registrations_table(db.session, event),
        filename(event.slug, "registrations", ext="csv"),
    )


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
def export_participants_csv(event: Event, session_id: int) -> Response | tuple[str, int]:
    session = session_or_404(event, session_id)
    return _csv_download(
        event,
        lambda: exports.participants_table(event, session, _participants(event, session)),
        filename(event.slug, session.key, "participants", ext="csv"),
    )


@bp.get("/events/<slug>/sessions/<int:session_id>/participants.xlsx")
@requires(access.MANAGE)
def export_participants_xlsx(event: Event, session_id: int) -> Response:
    session = session_or_404(event, session_id)
    participants = _participants(event, session)
    table = exports.participants_table(event, session, participants)
    body = exports.to_xlsx(table.title, table.columns, table.rows)
    name = filename(event.slug, session.key, "participants", ext="xlsx")
    return download(body, exports.XLSX_MIMETYPE, name)


@bp.get("/events/<slug>/catering.csv")
@requires(access.MANAGE)
def export_catering_csv(event: Event) -> Response | tuple[str, int]:
    return _csv_download(
        event,
        lambda: catering.catering_table(catering.catering_summary(db.session, event)),
        filename(event.slug, "catering", ext="csv"),
    )


@bp.get("/events/<slug>/catering.xlsx")
@requires(access.MANAGE)
def export_catering_xlsx(event: Event) -> Response:
    table = catering.catering_table(catering.catering_summary(db.session, event))
    preamble = catering.catering_preamble(event)
    body = exports.to_xlsx(table.title, table.columns, table.rows, preamble)
    return download(body, exports.XLSX_MIMETYPE, filename(event.slug, "catering", ext="xlsx"))


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
