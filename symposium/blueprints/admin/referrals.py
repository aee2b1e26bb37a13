"""A series' referral inbox: the list by state, one referral's details, a step with a note.

Health data: only the series' coordinators and admins (``access.REFERRALS``); the details
page records every look in the audit trail (``referrals.inbox.view``).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from symposium import busy, clock
from symposium.blueprints.admin import bp, perform, requires
from symposium.extensions import db
from symposium.filters import localised_name
from symposium.input_guard import whole_number
from symposium.models import Event, Referral, ReferralState, Theme
from symposium.services.accounts import access
from symposium.services.backoffice import history
from symposium.services.referrals import inbox, intake


@bp.app_template_global()
def sees_referrals(event: Event) -> bool:
    """Whether the signed-in account may open the event's referral inbox (the menu's link)."""
    return access.can(current_user, access.REFERRALS, event)


class FilterForm(FlaskForm):
    """?state= on the inbox."""

    class Meta:
        csrf = False

    state = SelectField(_l("Status"), validators=[Optional()])


class StepForm(FlaskForm):
    state = SelectField(_l("New status"), validators=[InputRequired()])
    group = SelectField(_l("Group (when placed)"), validators=[Optional()], validate_choice=False)
    note = TextAreaField(
        _l("Note (optional)"),
        validators=[Optional(), Length(max=inbox.NOTE_LIMIT)],
        description=_l("For example what was agreed in the intake. Only the coordinators read it."),
    )


def _series(event: Event) -> Event:
    """Only a series has referrals: any other event's inbox does not exist."""
    if not event.is_series:
        abort(404)
    return event


def _step_form(referral: Referral) -> StepForm:
    form = StepForm()
    form.state.choices = [
        SelectChoice(s.value, history.status_words(s.value)) for s in inbox.STEPS[referral.state]
    ]
    form.group.choices = [SelectChoice("", _l("Choose…"))] + [
        SelectChoice(str(g.id), g.title) for g in inbox.groups_of(referral.event)
    ]
    return form


def _theme_names(referral: Referral) -> list[str]:
    if not referral.themes:
        return []
    themes = db.session.scalars(select(Theme).where(Theme.code.in_(referral.themes))).all()
    names = {t.code: localised_name(t) for t in themes}
    return [names.get(code, code) for code in referral.themes]


@bp.get("/events/<slug>/referrals")
@requires(access.REFERRALS)
def referrals(event: Event) -> str:
    _series(event)
    form = FilterForm(request.args)
    form.state.choices = [SelectChoice("", _l("All"))] + [
        SelectChoice(s.value, history.status_words(s.value)) for s in ReferralState
    ]
    state = ReferralState(form.state.data) if form.validate() and form.state.data else None
    now = clock.now()
    return render_template(
        "admin/referrals.html",
        event=event,
        form=form,
        rows=inbox.inbox(db.session, event, now, state),
        counts=inbox.counts(db.session, event),
        state=state,
        overdue_days=inbox.OVERDUE_WORKING_DAYS,
        languages=intake.LANGUAGES,
    )


def _detail(event: Event, referral_id: int, form: StepForm | None = None) -> str:
    """The details page; opening it is recorded (and committed) before it is shown."""
    referral = inbox.view(db.session, current_user, event, referral_id, clock.now())
    if referral is None:
        abort(404)
    db.session.commit()
    return render_template(
        "admin/referral.html",
        event=event,
        referral=referral,
        form=form or _step_form(referral),
        age=inbox.age(referral, clock.now()),
        overdue=inbox.is_overdue(referral, clock.now()),
        professions=intake.PROFESSIONS,
        languages=intake.LANGUAGES,
        themes=_theme_names(referral),
        overdue_days=inbox.OVERDUE_WORKING_DAYS,
    )


@bp.get("/events/<slug>/referrals/<int:referral_id>")
@requires(access.REFERRALS)
def referral(event: Event, referral_id: int) -> str:
    return _detail(_series(event), referral_id)


@bp.post("/events/<slug>/referrals/<int:referral_id>/state")
@requires(access.REFERRALS)
def referral_step(event: Event, referral_id: int) -> Response | tuple[str, int]:
    found = db.session.get(Referral, referral_id)
    if found is None or found.event_id != _series(event).id:
        abort(404)
    form = _step_form(found)
    busy.keep_form(lambda: _detail(event, referral_id, form))
    if not form.validate_on_submit():
        db.session.rollback()
        return _detail(event, referral_id, form), 422
    outcome = perform(
        lambda: inbox.change_state(
            db.session, current_user, found, ReferralState(form.state.data), clock.now(),
            note=form.note.data or "", group_id=whole_number(form.group.data or ""),
        ),
        form,
    )  # fmt: skip
    if not outcome.ok:
        return _detail(event, referral_id, form), 422
    flash(_("Status changed."))
    return redirect(url_for("admin.referral", slug=event.slug, referral_id=referral_id), code=303)
