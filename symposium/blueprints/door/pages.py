"""The door pages: pick the session now running, then check people in and out of it.

Work without JavaScript: typing the code and searching by name are plain forms; the
scanner (static/door/) enhances the same page. Every form that records a scan posts to
:func:`scan`, which answers with a redirect to the door page showing that scan's answer
(read back by its client id), so reloading the page or pressing back never scans again,
and a form sent twice (the same client id) is one scan.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response
from wtforms import HiddenField, IntegerField, SearchField, StringField
from wtforms.validators import AnyOf, InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from symposium import busy, clock
from symposium.blueprints.admin import perform, requires, session_or_404
from symposium.blueprints.door import bp, describe
from symposium.extensions import db
from symposium.filters import local_time
from symposium.models import Enrolment, Event, Presence, Registration, Session, Via
from symposium.services.accounts import access
from symposium.services.checkin import presence, search
from symposium.services.checkin.presence import Answer, Direction, Verdict

DIRECTIONS = [d.value for d in Direction]
# How many of the session's latest check-ins and check-outs the door page lists.
RECENT = 10


class ScanForm(FlaskForm):
    """One scan by hand: a typed code, or a registration found by name (or admitted anyway)."""

    code = StringField(
        _l("Ticket code"),
        description=_l("The 13 characters under the QR code; dashes and case do not matter."),
        validators=[Optional(), Length(max=40, message=_l("A ticket code is 13 characters."))],
    )
    registration_id = IntegerField(widget=HiddenInput(), validators=[Optional()])
    client_id = HiddenField(validators=[InputRequired(), Length(max=presence.CLIENT_ID_LENGTH)])
    direction = HiddenField(default=Direction.IN.value, validators=[AnyOf(DIRECTIONS)])
    admit_anyway = HiddenField(default="", validators=[AnyOf(["", "1"])])

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if valid and not (self.code.data or "").strip() and self.registration_id.data is None:
            self.code.errors = [_("Type the code on the ticket.")]
            valid = False
        return valid

    @property
    def tampered(self) -> bool:
        """A hidden field or the CSRF token is wrong: no person made that mistake."""
        return any(
            self[name].errors
            for name in ("csrf_token", "registration_id", "client_id", "direction", "admit_anyway")
            if name in self
        )


class SearchForm(FlaskForm):
    """The name search: a GET that changes nothing, so no CSRF token."""

    class Meta:
        csrf = False

    q = SearchField(
        _l("Search by name"),
        description=_l("At least %(num)d letters; accents and capitals do not matter.",
                       num=search.MIN_LETTERS),
        validators=[Length(max=200)],
    )  # fmt: skip


class UndoForm(FlaskForm):
    presence_id = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    what = HiddenField(validators=[AnyOf(["checkin", "checkout"])])
    direction = HiddenField(default=Direction.IN.value, validators=[AnyOf(DIRECTIONS)])


class EveryoneLeftForm(FlaskForm):
    direction = HiddenField(default=Direction.IN.value, validators=[AnyOf(DIRECTIONS)])


def _direction(value: str | None) -> Direction:
    return Direction.OUT if value == Direction.OUT.value else Direction.IN


def _back(event: Event, session: Session, direction: Direction, **args: Any) -> Response:
    return redirect(
        url_for(
            "door.session", slug=event.slug, session_id=session.id, direction=direction.value,
            **args,
        ),
        code=303,
    )  # fmt: skip


# --- the session picker ---------------------------------------------------------------------


@bp.get("/<slug>/")
@requires(access.CHECKIN)
def index(event: Event) -> str:
    """The event's sessions of the day, the one running now (in ``?room=``) first."""
    room = request.args.get("room", "")[:120]
    proposed = presence.propose_session(event, clock.now(), room)
    sessions = presence.door_sessions(event)
    if proposed is not None:
        sessions = [proposed, *(s for s in sessions if s.id != proposed.id)]
    zone = event.tz
    days = {s.effective_starts_at.astimezone(zone).date() for s in sessions}  # type: ignore[union-attr]
    return render_template(
        "door/index.html", event=event, sessions=sessions, proposed=proposed, room=room,
        several_days=len(days) > 1,
    )  # fmt: skip


# --- the door of one session ----------------------------------------------------------------


@bp.get("/<slug>/sessions/<int:session_id>/")
@requires(access.CHECKIN)
def session(event: Event, session_id: int) -> str:
    """The door: the answer of the last scan, the code and name forms, the counts."""
    chosen = session_or_404(event, session_id)
    return _door_page(event, chosen, _direction(request.args.get("direction")))


def _door_page(
    event: Event, session: Session, direction: Direction, scan_form: ScanForm | None = None
) -> str:
    now = clock.now()
    client_id = request.args.get("scan", "")
    answer = None
    if 0 < len(client_id) <= presence.CLIENT_ID_LENGTH and scan_form is None:
        answer = presence.answer_for(db.session, event, client_id)
        if answer is not None and (
            answer.session.id != session.id
            or (answer.verdict is Verdict.ALREADY and answer.presence is None)
        ):
            answer = None  # a scan at another door, or one whose presence is gone
    if scan_form is None:
        scan_form = ScanForm(formdata=None, direction=direction.value)
    scan_form.client_id.data = presence.new_client_id()
    scan_form.direction.data = direction.value

    # A group that meets several times: the door is today's meeting's (none: no scans).
    meeting = presence.meeting_on(session, now)
    search_form = SearchForm(request.args)
    query = (search_form.q.data or "").strip() if search_form.validate() else ""
    found, too_short = None, False
    if query:
        too_short = not search.long_enough(query)
        found = None if too_short else search.search_people(db.session, session, query, meeting)

    registrations = db.session.scalars(
        select(Registration)
        .where(Registration.event_id == event.id, Registration.anonymised_at.is_(None))
        .options(selectinload(Registration.enrolments).selectinload(Enrolment.session))
    ).all()
    expected = presence.expected(session, registrations)
    presences = presence.door_presences(db.session, session, now)
    recent = sorted(
        presences, key=lambda p: (p.checked_out_at or p.checked_in_at, p.id), reverse=True
    )[:RECENT]
    times = presence.door_times(session, now)
    return render_template(
        "door/session.html",
        event=event,
        session=session,
        direction=direction.value,
        csrf=generate_csrf(),
        server_time=now.isoformat(),
        answer=answer,
        shown=shown_answer(answer, now) if answer is not None else None,
        scan_form=scan_form,
        search_form=search_form,
        query=query,
        found=found,
        too_short=too_short,
        new_client_id=presence.new_client_id,
        expected=len(expected),
        counts=presence.door_counts(db.session, session, now),
        recent=recent,
        meeting=meeting,
        next_meeting=next((m for m in session.meetings if m.starts_at > now), None),
        members=(
            search.members(session, registrations, presences)
            if session.meetings and meeting is not None
            else None
        ),
        may_undo=lambda p: presence.may_undo(current_user, p, now),
        late_by=presence.late_by,
        early_by=presence.early_by,
        show_everyone_left=direction is Direction.OUT or (times is not None and now >= times[0]),
        ends_at=presence.leaving_time(session, now),
        can_manage=access.can(current_user, access.MANAGE, event),
    )


def shown_answer(answer: Answer, now: Any) -> dict[str, Any]:
    """The answer panel: ``describe`` plus what the door can do about it."""
    shown = describe(answer)
    row = answer.presence
    shown["label"] = {
        "green": _("Admitted") if answer.verdict is Verdict.WELCOME else _("Checked out"),
        "orange": _("Check first"),
        "red": _("Not admitted"),
        "grey": _("Scanned before"),
    }[answer.colour]
    shown["undone"] = row is not None and row.undone_at is not None
    # What "undo" takes back: the check-in just made, else the check-out on record, else
    # (scanned before) the check-in; nothing once taken back, or too late for this account.
    undo = None
    undoable = (
        answer.colour in ("green", "grey")
        and row is not None
        and row.undone_at is None
        and presence.may_undo(current_user, row, now)
    )
    if undoable and answer.verdict is Verdict.WELCOME:
        undo = "checkin"
    elif undoable and row.checked_out_at is not None:  # type: ignore[union-attr]
        undo = "checkout"
    elif undoable and answer.verdict is Verdict.ALREADY:
        undo = "checkin"
    shown["undo"] = undo
    shown["admit_anyway"] = (
        answer.verdict is Verdict.OTHER_SESSION and answer.registration is not None
    )
    return shown


@bp.post("/<slug>/sessions/<int:session_id>/scan")
@requires(access.CHECKIN)
def scan(event: Event, session_id: int) -> Response | tuple[str, int]:
    """Record a typed code or a tap on a name, then show its answer (post, redirect, get)."""
    chosen = session_or_404(event, session_id)
    form = ScanForm()
    if not form.validate():
        if form.tampered:
            abort(400)
        return _door_page(event, chosen, _direction(form.direction.data), form), 422
    direction = Direction(form.direction.data)
    client_id = form.client_id.data
    by_code = bool((form.code.data or "").strip())
    busy.keep_form(lambda: _door_page(event, chosen, direction, form))
    done = perform(
        lambda: presence.scan(
            db.session,
            current_user,
            chosen,
            client_id=client_id,
            now=clock.now(),
            code=form.code.data if by_code else None,
            registration_id=None if by_code else form.registration_id.data,
            direction=direction,
            via=Via.TYPED if by_code else Via.SEARCH,
            admit_anyway=form.admit_anyway.data == "1",
        ),
        form,
    )
    if not done.ok:
        return _door_page(event, chosen, direction, form), 422
    return _back(event, chosen, direction, scan=client_id)


@bp.post("/<slug>/sessions/<int:session_id>/undo")
@requires(access.CHECKIN)
def undo(event: Event, session_id: int) -> Response:
    """Take back a check-in or a check-out of this session (a wrong person, a wrong door)."""
    chosen = session_or_404(event, session_id)
    form = UndoForm()
    if not form.validate():
        abort(400)
    row = db.session.get(Presence, form.presence_id.data)
    if row is None or row.session_id != chosen.id:
        abort(404)
    name = row.registration.name
    undo_ = presence.undo_checkout if form.what.data == "checkout" else presence.undo_checkin
    done = perform(lambda: undo_(db.session, current_user, row, clock.now()))
    if done.ok:
        if form.what.data == "checkout":
            flash(_("Check-out of %(name)s taken back: they are in again.", name=name), "success")
        else:
            flash(_("Check-in of %(name)s taken back.", name=name), "success")
    return _back(event, chosen, _direction(form.direction.data))


@bp.post("/<slug>/sessions/<int:session_id>/everyone-left")
@requires(access.CHECKIN)
def everyone_left(event: Event, session_id: int) -> Response:
    """Check out everyone still in, in one tap, when the room empties at the end."""
    chosen = session_or_404(event, session_id)
    form = EveryoneLeftForm()
    if not form.validate():
        abort(400)
    now = clock.now()
    done = perform(lambda: presence.everyone_left(db.session, current_user, chosen, now))
    if done.ok:
        at = presence.leaving_time(chosen, now)
        if done.value:
            flash(
                ngettext("%(num)d person checked out at %(time)s.",
                         "%(num)d people checked out at %(time)s.",
                         done.value, time=local_time(at, event.timezone)),
                "success",
            )  # fmt: skip
        else:
            flash(_("Nobody was still checked in."), "success")
    return _back(event, chosen, _direction(form.direction.data))
