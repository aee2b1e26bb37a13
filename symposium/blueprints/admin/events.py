"""An event's sessions: places taken, waiting lists and capacities."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import (
    DateTimeLocalField,
    DecimalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from symposium import clock
from symposium.blueprints.admin import bp, requires
from symposium.extensions import db
from symposium.models import Event, EventStatus, Session
from symposium.services import access, audit, enrolment, programme, programme_edit
from symposium.services.event_files import localise


class CapacityForm(FlaskForm):
    """One per session row (prefixed); CSRFProtect checks the page's shared token."""

    class Meta:
        csrf = False

    capacity = IntegerField(
        _l("Capacity"),
        validators=[Optional(), NumberRange(min=0, max=100000)],
        description=_l("Empty means no limit."),
    )


@bp.get("/events/<slug>/")
@requires(access.MANAGE)
def event(event: Event) -> str:
    sessions = [s for s in event.sessions if enrolment.enrollable(s)]
    counts = enrolment.session_counts(db.session, [s.id for s in sessions])
    forms = {s.id: CapacityForm(capacity=s.capacity, prefix=f"s{s.id}") for s in sessions}
    return render_template(
        "admin/event.html",
        event=event,
        sessions=sessions,
        counts=counts,
        forms=forms,
        status_form=StatusForm(status=event.status.value),
    )


@bp.post("/events/<slug>/sessions/<int:session_id>/capacity")
@requires(access.MANAGE)
def session_capacity(event: Event, session_id: int) -> Response:
    session = db.session.get(Session, session_id)
    if session is None or session.event_id != event.id:
        abort(404)
    form = CapacityForm(prefix=f"s{session_id}")
    if not form.validate():
        flash(" ".join(str(e) for e in form.capacity.errors) or _("Invalid capacity."), "error")
    else:
        now = clock.now()
        before = session.capacity
        try:
            promoted = enrolment.change_capacity(db.session, session, form.capacity.data, now)
        except enrolment.EnrolmentError as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
        else:
            audit.record(
                db.session,
                user=current_user,
                event=event,
                action="capacity_changed",
                target=f"session {session.key}",
                before={"capacity": before},
                after={
                    "capacity": session.capacity,
                    "promoted": [e.registration.email for e in promoted],
                },
                now=now,
            )
            db.session.commit()
            flash(
                _(
                    "Capacity of “%(session)s” saved; %(num)d promoted from the waiting list.",
                    session=session.title,
                    num=len(promoted),
                )
            )
    return redirect(url_for("admin.event", slug=event.slug), code=303)


@bp.get("/events/<slug>/audit")
@requires(access.MANAGE)
def audit_log(event: Event) -> str:
    return render_template(
        "admin/audit.html", event=event, entries=audit.for_event(db.session, event)
    )


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SessionForm(FlaskForm):
    title = StringField(_l("Title"), validators=[InputRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=20000)])
    room = StringField(_l("Room"), validators=[Length(max=120)])
    starts_at = DateTimeLocalField(_l("Starts"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    ends_at = DateTimeLocalField(_l("Ends"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    capacity = IntegerField(
        _l("Capacity"),
        validators=[Optional(), NumberRange(min=0, max=100000)],
        description=_l("Empty means no limit."),
    )
    hours = DecimalField(
        _l("Accreditation hours"), places=2, validators=[Optional(), NumberRange(min=0, max=999)]
    )
    professions = MultiCheckboxField(
        _l("Who may join"), choices=[], description=_l("None ticked: everyone in the audience.")
    )


def session_form(event: Event, session: Session) -> Any:
    """The session form with one quota field per profession the event admits."""
    admitted = programme.admitted_professions(db.session, event)

    class Form(SessionForm):
        pass

    for profession in admitted:
        setattr(
            Form,
            f"quota_{profession.code}",
            IntegerField(
                profession.name(str(get_locale())),
                validators=[Optional(), NumberRange(min=0, max=100000)],
            ),
        )
    quotas = {q.profession.code: q.places for q in session.quotas}
    zone = event.tz
    form = Form(
        obj=session,
        starts_at=session.starts_at.astimezone(zone).replace(tzinfo=None)
        if session.starts_at
        else None,
        ends_at=session.ends_at.astimezone(zone).replace(tzinfo=None) if session.ends_at else None,
        professions=[p.code for p in session.professions],
        **{f"quota_{code}": places for code, places in quotas.items()},
    )
    form.professions.choices = [SelectChoice(p.code, p.name(str(get_locale()))) for p in admitted]
    form.admitted = admitted
    return form


@bp.route("/events/<slug>/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@requires(access.MANAGE)
def session_edit(event: Event, session_id: int) -> Response | str | tuple[str, int]:
    session = db.session.get(Session, session_id)
    if session is None or session.event_id != event.id:
        abort(404)
    form = session_form(event, session)
    if form.validate_on_submit():
        try:
            changes = programme_edit.SessionChanges(
                title=form.title.data.strip(),
                description=(form.description.data or "").strip(),
                room=(form.room.data or "").strip(),
                starts_at=_instant(form.starts_at, event),
                ends_at=_instant(form.ends_at, event),
                capacity=form.capacity.data,
                hours=form.hours.data,
                professions=[p for p in form.admitted if p.code in (form.professions.data or [])],
                quotas={
                    p: form[f"quota_{p.code}"].data
                    for p in form.admitted
                    if form[f"quota_{p.code}"].data is not None
                },
            )
            now = clock.now()
            result = programme_edit.update_session(db.session, session, changes, now)
        except enrolment.EnrolmentError as exc:
            db.session.rollback()
            field = exc.field if exc.field in form else None
            if field:
                form[field].errors = [*form[field].errors, str(exc.message)]
            else:
                form.form_errors.append(str(exc.message))
        else:
            audit.record(
                db.session,
                user=current_user,
                event=event,
                action="session_edited",
                target=f"session {session.key}",
                before=result.before,
                after=result.after,
                now=now,
            )
            db.session.commit()
            flash(
                _(
                    "“%(session)s” saved: %(promoted)d promoted, %(updates)d calendar updates.",
                    session=session.title,
                    promoted=len(result.promoted),
                    updates=result.calendar_updates,
                )
            )
            return redirect(url_for("admin.event", slug=event.slug), code=303)
        return render_template(
            "admin/session_edit.html", event=event, session=session, form=form
        ), 422
    return render_template("admin/session_edit.html", event=event, session=session, form=form)


def _instant(field: Any, event: Event) -> datetime | None:
    """A wall-clock time from the form, in the event's zone (refusing DST gaps and repeats)."""
    if field.data is None:
        return None
    try:
        return localise(field.data, event.tz)
    except ValueError as exc:
        raise enrolment.EnrolmentError("invalid_time", str(exc), field.name) from exc


class StatusForm(FlaskForm):
    status = SelectField(
        _l("Status"),
        choices=[
            SelectChoice("draft", _l("Draft (not public)")),
            SelectChoice("published", _l("Published")),
            SelectChoice("cancelled", _l("Cancelled: withdraws every invitation")),
        ],
    )


@bp.post("/events/<slug>/status")
@requires(access.MANAGE)
def event_status(event: Event) -> Response:
    form = StatusForm()
    if not form.validate():
        abort(400)
    now, before = clock.now(), event.status.value
    notices = programme_edit.set_status(db.session, event, EventStatus(form.status.data), now)
    if event.status.value != before:
        audit.record(
            db.session,
            user=current_user,
            event=event,
            action="event_status",
            before={"status": before},
            after={"status": event.status.value},
            now=now,
        )
        db.session.commit()
        flash(_("Status saved; %(num)d cancellation notices queued.", num=notices))
    return redirect(url_for("admin.event", slug=event.slug), code=303)
