"""An event's sessions: places taken, waiting lists and capacities."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import IntegerField
from wtforms.validators import NumberRange, Optional

from symposium import clock
from symposium.blueprints.admin import bp, requires
from symposium.extensions import db
from symposium.models import Event, Session
from symposium.services import access, audit, enrolment


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
        "admin/event.html", event=event, sessions=sessions, counts=counts, forms=forms
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
