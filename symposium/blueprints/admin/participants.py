"""Participants: find, look at, and act on someone's registration (same rules as they have)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import BooleanField, IntegerField, SearchField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from symposium import clock
from symposium.blueprints.admin import bp, perform, requires
from symposium.extensions import db
from symposium.models import Enrolment, EnrolmentStatus, Event, Registration
from symposium.services.accounts import access
from symposium.services.backoffice import participants as finder
from symposium.services.checkin import attendance
from symposium.services.registration import lifecycle, places, validation


class SearchForm(FlaskForm):
    """GET search; it changes nothing, so it carries no CSRF token."""

    class Meta:
        csrf = False

    q = SearchField(_l("Search name, e-mail or organisation"), validators=[Length(max=200)])
    sort = SelectField(
        _l("Sort by"),
        choices=[
            SelectChoice("name", _l("Name")),
            SelectChoice("email", _l("E-mail address")),
            SelectChoice("profession", _l("Profession")),
            SelectChoice("organisation", _l("Organisation")),
            SelectChoice("registered", _l("Registered")),
        ],
        default="name",
    )
    desc = BooleanField(_l("Descending"))
    page = IntegerField(default=1, validators=[Optional()])


class OverrideMixin:
    override = BooleanField(_l("Admin: over capacity"))
    reason = TextAreaField(_l("Reason (required for an override)"), validators=[Length(max=500)])


class MoveForm(OverrideMixin, FlaskForm):
    session_id = SelectField(_l("Move to"), choices=[], validators=[InputRequired()])


class PromoteForm(OverrideMixin, FlaskForm):
    pass


class ActionForm(FlaskForm):
    """A button that changes something: CSRF only."""


def _registration(event: Event, registration_id: int) -> Registration:
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.event_id != event.id:
        abort(404)
    return registration


def _enrolment(registration: Registration, enrolment_id: int) -> Enrolment:
    found = db.session.get(Enrolment, enrolment_id)
    if found is None or found.registration_id != registration.id:
        abort(404)
    return found


def _back(event: Event, registration: Registration) -> Response:
    return redirect(
        url_for("admin.participant", slug=event.slug, registration_id=registration.id), code=303
    )


def _override_reason(form: OverrideMixin) -> str | None:
    """The written reason when the override box is ticked; the service checks both."""
    return (form.reason.data or "") if form.override.data else None


@bp.get("/events/<slug>/participants/")
@requires(access.MANAGE)
def participants(event: Event) -> str:
    form = SearchForm(request.args)
    form.validate()
    result = finder.search(
        db.session,
        event,
        form.q.data or "",
        form.sort.data or "name",
        bool(form.desc.data),
        form.page.data or 1,
    )
    return render_template("admin/participants.html", event=event, form=form, result=result)


@bp.get("/events/<slug>/participants/<int:registration_id>")
@requires(access.MANAGE)
def participant(event: Event, registration_id: int) -> str:
    registration = _registration(event, registration_id)
    move = MoveForm()
    move.session_id.choices = [
        SelectChoice(str(s.id), s.title + (f" ({s.round.title})" if s.round else ""))
        for s in event.sessions
        if validation.enrollable(s)
    ]
    return render_template(
        "admin/participant.html",
        event=event,
        registration=registration,
        move_form=move,
        promote_form=PromoteForm(),
        action_form=ActionForm(),
        places=places.places_left(db.session, event.sessions),
        can_override=access.is_admin(current_user),
        presences=attendance.registration_presences(db.session, registration),
        late_by=attendance.late_by,
        early_by=attendance.early_by,
        in_full=attendance.in_full,
    )


@bp.post("/events/<slug>/participants/<int:registration_id>/cancel")
@requires(access.MANAGE)
def participant_cancel(event: Event, registration_id: int) -> Response:
    registration = _registration(event, registration_id)
    if not ActionForm().validate():
        abort(400)
    done = perform(
        lambda: lifecycle.cancel_registration(
            db.session, registration, clock.now(), actor=current_user
        )
    )
    if done.ok and done.value:
        flash(_("The registration has been cancelled."))
    return _back(event, registration)


@bp.post("/events/<slug>/participants/<int:registration_id>/sessions/<int:enrolment_id>/cancel")
@requires(access.MANAGE)
def participant_cancel_session(event: Event, registration_id: int, enrolment_id: int) -> Response:
    registration = _registration(event, registration_id)
    chosen = _enrolment(registration, enrolment_id)
    if not ActionForm().validate():
        abort(400)
    done = perform(
        lambda: lifecycle.cancel_enrolment(
            db.session, registration, chosen.id, clock.now(), actor=current_user
        )
    )
    if done.ok and done.value:
        flash(_("The session has been cancelled."))
    return _back(event, registration)


@bp.post("/events/<slug>/participants/<int:registration_id>/move")
@requires(access.MANAGE)
def participant_move(event: Event, registration_id: int) -> Response:
    registration = _registration(event, registration_id)
    form = MoveForm()
    form.session_id.choices = [SelectChoice(str(s.id), s.title) for s in event.sessions]
    if not form.validate():
        flash(_("Choose a session."), "error")
        return _back(event, registration)
    done = perform(
        lambda: lifecycle.move(
            db.session,
            current_user,
            registration,
            int(form.session_id.data),
            clock.now(),
            override_reason=_override_reason(form),
        )
    )
    if done.ok and (moved := done.value) is not None:
        flash(
            _(
                "Moved to “%(session)s”: %(status)s.",
                session=moved.session.title,
                status=_("confirmed")
                if moved.status is EnrolmentStatus.CONFIRMED
                else _("waiting list, position %(n)d", n=moved.waitlist_position),
            )
        )
    return _back(event, registration)


@bp.post("/events/<slug>/participants/<int:registration_id>/sessions/<int:enrolment_id>/promote")
@requires(access.MANAGE)
def participant_promote(event: Event, registration_id: int, enrolment_id: int) -> Response:
    registration = _registration(event, registration_id)
    chosen = _enrolment(registration, enrolment_id)
    form = PromoteForm()
    if not form.validate():
        abort(400)
    done = perform(
        lambda: places.promote_by_hand(
            db.session, current_user, chosen, clock.now(), override_reason=_override_reason(form)
        )
    )
    if done.ok:
        flash(_("Promoted from the waiting list."))
    return _back(event, registration)


@bp.post("/events/<slug>/participants/<int:registration_id>/resend")
@requires(access.MANAGE)
def participant_resend(event: Event, registration_id: int) -> Response:
    registration = _registration(event, registration_id)
    if not ActionForm().validate():
        abort(400)
    done = perform(
        lambda: lifecycle.resend_link(db.session, registration, clock.now(), actor=current_user)
    )
    if done.ok:
        flash(_("The manage link has been sent again."))
    return _back(event, registration)
