"""An event's sessions: places taken, waiting lists and capacities."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.fields.core import UnboundField
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from symposium import busy, clock
from symposium.blueprints.admin import bp, limits, perform, requires, session_or_404
from symposium.blueprints.admin.branding import BrandingFields, chosen, initial
from symposium.clock import localise
from symposium.extensions import db
from symposium.input_guard import SingleLine
from symposium.models import Event, EventStatus, Session, SessionKind
from symposium.services.accounts import access
from symposium.services.backoffice import history
from symposium.services.core import audit
from symposium.services.core.errors import RuleError
from symposium.services.programme import branding, editing, public
from symposium.services.registration import lifecycle, places


class CapacityForm(FlaskForm):
    """One per session row (prefixed); CSRFProtect checks the page's shared token."""

    class Meta:
        csrf = False

    capacity = IntegerField(_l("Capacity"), validators=[Optional(), NumberRange(min=0, max=100000)])
    unlimited = limits.no_limit_field()

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        return limits.check_limit(self.capacity, self.unlimited) and valid


@bp.get("/events/<slug>/")
@requires(access.MANAGE)
def event(event: Event) -> str:
    return _event_page(event)


def _event_page(event: Event, submitted: dict[int, CapacityForm] | None = None) -> str:
    """The sessions with their counts and capacity forms; ``submitted`` ones as they were sent."""
    sessions = [s for s in event.sessions if s.kind is not SessionKind.PLENARY]
    counts = places.session_counts(db.session, [s.id for s in sessions])
    forms = {
        s.id: CapacityForm(capacity=s.capacity, unlimited=s.capacity is None, prefix=f"s{s.id}")
        for s in sessions
    }
    forms.update(submitted or {})
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
def session_capacity(event: Event, session_id: int) -> Response | tuple[str, int]:
    session = session_or_404(event, session_id)
    form = CapacityForm(prefix=f"s{session_id}")
    if not form.validate():
        return _event_page(event, {session_id: form}), 422  # the message next to the field
    busy.keep_form(lambda: _event_page(event, {session_id: form}))
    done = perform(
        lambda: places.change_capacity(
            db.session, current_user, session, form.capacity.data, clock.now()
        )
    )
    if done.ok:
        flash(
            _(
                "Capacity of “%(session)s” saved; %(num)d promoted from the waiting list.",
                session=session.title,
                num=len(done.value or []),
            )
        )
    return redirect(url_for("admin.event", slug=event.slug), code=303)


@bp.get("/events/<slug>/audit")
@requires(access.MANAGE)
def audit_log(event: Event) -> str:
    entries = audit.for_event(db.session, event)
    if not access.can(current_user, access.REFERRALS, event):
        # Who looked at which referral, and when its steps were taken, is for its coordinators.
        entries = [e for e in entries if not e.action.startswith("referral")]
    return render_template(
        "admin/audit.html", event=event, lines=history.describe(db.session, event, entries)
    )


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SessionForm(FlaskForm):
    title = StringField(_l("Title"), validators=[SingleLine(), InputRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=20000)])
    room = StringField(_l("Room"), validators=[SingleLine(), Length(max=120)])
    starts_at = DateTimeLocalField(_l("Starts"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    ends_at = DateTimeLocalField(_l("Ends"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    capacity = IntegerField(_l("Capacity"), validators=[Optional(), NumberRange(min=0, max=100000)])
    unlimited = limits.no_limit_field()
    hours = DecimalField(
        _l("Accreditation hours"), places=2, validators=[Optional(), NumberRange(min=0, max=999)]
    )
    professions = MultiCheckboxField(
        _l("Who may join"), choices=[], description=_l("None ticked: everyone in the audience.")
    )

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        return limits.check_limit(self.capacity, self.unlimited) and valid


class NewSessionFields:
    key = StringField(
        _l("Key"),
        validators=[SingleLine(), InputRequired(), Length(max=60)],
        description=_l("Stable name used by the event file, e.g. ws-chime."),
    )
    kind = SelectField(
        _l("Kind"),
        choices=[
            SelectChoice("workshop", _l("Workshop")),
            SelectChoice("group", _l("Group")),
            SelectChoice("plenary", _l("Plenary")),
        ],
    )
    round_id = SelectField(_l("Round"), choices=[])


def session_form(event: Event, session: Session, creating: bool = False) -> Any:
    """The session form with one quota field per profession the event admits."""
    admitted = public.admitted_professions(db.session, event)

    bases = (NewSessionFields, SessionForm) if creating else (SessionForm,)
    Form = type("SessionEditForm", bases, {})

    for profession in admitted:
        setattr(
            Form,
            f"quota_{profession.code}",
            IntegerField(
                profession.name(str(get_locale())),
                validators=[Optional(), NumberRange(min=0, max=100000)],
            ),
        )
    quotas = {q.profession.code: q.places for q in session.quotas} if session.id else {}
    zone = event.tz
    form = prefilled(
        Form,
        session,
        starts_at=session.starts_at.astimezone(zone).replace(tzinfo=None)
        if session.starts_at
        else None,
        ends_at=session.ends_at.astimezone(zone).replace(tzinfo=None) if session.ends_at else None,
        professions=[p.code for p in session.professions] if session.id else [],
        unlimited=session.capacity is None,
        **{f"quota_{code}": places for code, places in quotas.items()},
    )
    form.professions.choices = [SelectChoice(p.code, p.name(str(get_locale()))) for p in admitted]
    form.admitted = admitted
    return form


@bp.route("/events/<slug>/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@requires(access.MANAGE)
def session_edit(event: Event, session_id: int) -> Response | str | tuple[str, int]:
    session = session_or_404(event, session_id)
    form = session_form(event, session)

    def page() -> str:
        return render_template("admin/session_edit.html", event=event, session=session, form=form)

    if form.validate_on_submit():
        busy.keep_form(page)
        done = perform(
            lambda: editing.update_session(
                db.session, current_user, session, _changes(form, event), clock.now()
            ),
            form,
        )
        if done.ok and (result := done.value) is not None:
            flash(
                _(
                    "“%(session)s” saved: %(promoted)d promoted, %(updates)d calendar updates.",
                    session=session.title,
                    promoted=len(result.promoted),
                    updates=result.calendar_updates,
                )
            )
            return redirect(url_for("admin.event", slug=event.slug), code=303)
        return page(), 422
    return render_template(
        "admin/session_edit.html",
        event=event,
        session=session,
        form=form,
        confirm_form=ConfirmForm(),
    ), _shown(form)


def _changes(form: Any, event: Event) -> editing.SessionChanges:
    return editing.SessionChanges(
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


def _instant(field: Any, where: Event | ZoneInfo) -> datetime | None:
    """A wall-clock time from the form, in the event's zone (refusing DST gaps and repeats)."""
    if field.data is None:
        return None
    try:
        return localise(field.data, where.tz if isinstance(where, Event) else where)
    except ValueError as exc:
        raise RuleError("invalid_time", str(exc), field.name) from exc


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
    before = event.status
    done = perform(
        lambda: editing.set_status(
            db.session, current_user, event, EventStatus(form.status.data), clock.now()
        )
    )
    if done.ok and event.status is not before:
        flash(_("Status saved; %(num)d cancellation notices queued.", num=done.value))
    return redirect(url_for("admin.event", slug=event.slug), code=303)


F = TypeVar("F", bound=FlaskForm)


def prefilled(form_class: type[F], obj: object | None, **values: Any) -> F:
    """A form showing ``obj``'s attributes, except those given in ``values``.

    WTForms lets ``obj`` win over keyword values, so the wall-clock times (and codes) given
    here would be ignored in favour of the stored UTC times; merge them first instead.
    """
    data = {}
    if obj is not None:
        names = [n for n in dir(form_class) if isinstance(getattr(form_class, n), UnboundField)]
        data = {name: getattr(obj, name) for name in names if hasattr(obj, name)}
    return form_class(data={**data, **values})


def _shown(form: Any) -> int:
    """The status of a form's page: 422 when it came back with mistakes, else 200."""
    return 422 if form.errors else 200


def _local(value: datetime | None, event: Event) -> datetime | None:
    return value.astimezone(event.tz).replace(tzinfo=None) if value else None


class RequiredTimes:
    """A start and an end, as wall-clock times in the event's zone."""

    starts_at = DateTimeLocalField(
        _l("Starts"), format="%Y-%m-%dT%H:%M", validators=[InputRequired()]
    )
    ends_at = DateTimeLocalField(_l("Ends"), format="%Y-%m-%dT%H:%M", validators=[InputRequired()])


class NewEventForm(RequiredTimes, FlaskForm):
    slug = StringField(
        _l("Web address"),
        validators=[SingleLine(), InputRequired(), Length(max=80)],
        description=_l("Lower-case letters, digits and hyphens, e.g. 7roses-2027."),
    )
    title = StringField(_l("Title"), validators=[SingleLine(), InputRequired(), Length(max=200)])


class EventForm(RequiredTimes, BrandingFields, FlaskForm):
    title = StringField(_l("Title"), validators=[SingleLine(), InputRequired(), Length(max=200)])
    subtitle = StringField(_l("Subtitle"), validators=[SingleLine(), Length(max=300)])
    description = TextAreaField(_l("Description"), validators=[Length(max=20000)])
    audience = TextAreaField(_l("Who it is for"), validators=[Length(max=5000)])
    objectives = TextAreaField(
        _l("Learning objectives"),
        validators=[Length(max=5000)],
        description=_l("One per line."),
    )
    venue = StringField(_l("Venue"), validators=[SingleLine(), Length(max=200)])
    address = StringField(_l("Address"), validators=[SingleLine(), Length(max=300)])
    registration_opens_at = DateTimeLocalField(
        _l("Registration opens"), format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    registration_closes_at = DateTimeLocalField(
        _l("Registration closes"), format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    capacity = IntegerField(
        _l("Total capacity"), validators=[Optional(), NumberRange(min=1, max=100000)]
    )
    unlimited = limits.no_limit_field()
    late_tolerance_minutes = IntegerField(
        _l("Minutes late that still count as attending in full"),
        validators=[Optional(), NumberRange(min=0, max=120)],
        description=_l("For accreditation points; 10 unless you change it."),
    )
    early_tolerance_minutes = IntegerField(
        _l("Minutes early that still count as attending in full"),
        validators=[Optional(), NumberRange(min=0, max=120)],
    )
    reminder_days = IntegerField(
        _l("Reminder: days before the event"),
        validators=[Optional(), NumberRange(min=0, max=30)],
        description=_l("Registrants get a reminder with the practical information; 0: none."),
    )
    practical_info = TextAreaField(
        _l("Practical information for the reminder"),
        validators=[Length(max=5000)],
        description=_l("What to bring, parking, public transport, where the entrance is."),
    )

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        return limits.check_limit(self.capacity, self.unlimited) and valid


class RoundForm(RequiredTimes, FlaskForm):
    key = StringField(
        _l("Key"),
        validators=[SingleLine(), InputRequired(), Length(max=60)],
        description=_l("Stable name used by the event file, e.g. ronde-1."),
    )
    title = StringField(_l("Title"), validators=[SingleLine(), InputRequired(), Length(max=200)])


@bp.route("/events/new", methods=["GET", "POST"])
@requires(access.CREATE_EVENT)
def event_new() -> Response | str | tuple[str, int]:
    form = NewEventForm()
    busy.keep_form(lambda: render_template("admin/form.html", form=form, heading=_("New event")))
    if form.validate_on_submit():
        zone = Event(timezone="Europe/Amsterdam").tz
        done = perform(
            lambda: editing.create_event(
                db.session,
                current_user,
                slug=form.slug.data.strip(),
                title=form.title.data.strip(),
                starts_at=_instant(form.starts_at, zone),
                ends_at=_instant(form.ends_at, zone),
                now=clock.now(),
            ),
            form,
        )
        if done.ok and (created := done.value) is not None:
            return redirect(url_for("admin.event_edit", slug=created.slug), code=303)
        return render_template("admin/form.html", form=form, heading=_("New event")), 422
    return render_template("admin/form.html", form=form, heading=_("New event")), _shown(form)


@bp.route("/events/<slug>/edit", methods=["GET", "POST"])
@requires(access.MANAGE)
def event_edit(event: Event) -> Response | str | tuple[str, int]:
    form = prefilled(
        EventForm,
        event,
        objectives="\n".join(event.objectives),
        unlimited=event.capacity is None,
        starts_at=_local(event.starts_at, event),
        ends_at=_local(event.ends_at, event),
        registration_opens_at=_local(event.registration_opens_at, event),
        registration_closes_at=_local(event.registration_closes_at, event),
        **initial(event),
    )

    def page() -> str:
        return render_template("admin/event_edit.html", form=form, heading=event.title,
                               event=event)  # fmt: skip

    busy.keep_form(page)
    if form.validate_on_submit():

        def save() -> dict[str, Any]:
            values = {
                "title": form.title.data.strip(),
                "subtitle": (form.subtitle.data or "").strip(),
                "description": (form.description.data or "").strip(),
                "audience": (form.audience.data or "").strip(),
                "objectives": [
                    line.strip()
                    for line in (form.objectives.data or "").splitlines()
                    if line.strip()
                ],
                "venue": (form.venue.data or "").strip(),
                "address": (form.address.data or "").strip(),
                "starts_at": _instant(form.starts_at, event),
                "ends_at": _instant(form.ends_at, event),
                "registration_opens_at": _instant(form.registration_opens_at, event),
                "registration_closes_at": _instant(form.registration_closes_at, event),
                "capacity": form.capacity.data,
                # Left empty: as they were.
                "late_tolerance_minutes": _or(
                    form.late_tolerance_minutes.data, event.late_tolerance_minutes
                ),
                "early_tolerance_minutes": _or(
                    form.early_tolerance_minutes.data, event.early_tolerance_minutes
                ),
                "reminder_days": _or(form.reminder_days.data, event.reminder_days),
                "practical_info": (form.practical_info.data or "").strip(),
            }
            before = editing.update_event(db.session, current_user, event, values, clock.now())
            branding.save(db.session, current_user, event, **chosen(form), now=clock.now())
            return before

        if perform(save, form).ok:
            flash(_("The event has been saved."))
            return redirect(url_for("admin.event", slug=event.slug), code=303)
        return page(), 422
    return page(), _shown(form)


def _or(value: int | None, current: int) -> int:
    return current if value is None else value


def _round_view(event: Event, round_id: int | None) -> Response | str | tuple[str, int]:
    round_ = None
    if round_id is not None:
        round_ = next((r for r in event.rounds if r.id == round_id), None)
        if round_ is None:
            abort(404)
    form = prefilled(
        RoundForm,
        round_,
        starts_at=_local(round_.starts_at, event) if round_ else None,
        ends_at=_local(round_.ends_at, event) if round_ else None,
    )
    heading = round_.title if round_ else _("New round")
    busy.keep_form(
        lambda: render_template("admin/form.html", form=form, heading=heading, event=event)
    )
    if form.validate_on_submit():
        done = perform(
            lambda: editing.save_round(
                db.session,
                current_user,
                event,
                round_,
                key=form.key.data.strip(),
                title=form.title.data.strip(),
                starts_at=_instant(form.starts_at, event),
                ends_at=_instant(form.ends_at, event),
                now=clock.now(),
            ),
            form,
        )
        if done.ok:
            flash(_("The round has been saved."))
            return redirect(url_for("admin.event", slug=event.slug), code=303)
        return render_template("admin/form.html", form=form, heading=heading, event=event), 422
    return render_template("admin/form.html", form=form, heading=heading, event=event), _shown(form)


@bp.route("/events/<slug>/rounds/new", methods=["GET", "POST"])
@requires(access.MANAGE)
def round_new(event: Event) -> Response | str | tuple[str, int]:
    return _round_view(event, None)


@bp.route("/events/<slug>/rounds/<int:round_id>/edit", methods=["GET", "POST"])
@requires(access.MANAGE)
def round_edit(event: Event, round_id: int) -> Response | str | tuple[str, int]:
    return _round_view(event, round_id)


@bp.route("/events/<slug>/sessions/new", methods=["GET", "POST"])
@requires(access.MANAGE)
def session_new(event: Event) -> Response | str | tuple[str, int]:
    form = session_form(event, Session(), creating=True)
    form.round_id.choices = [SelectChoice("", _("No round (own times)"))] + [
        SelectChoice(str(r.id), r.title) for r in event.rounds
    ]
    busy.keep_form(
        lambda: render_template("admin/session_edit.html", event=event, session=None, form=form)
    )
    if form.validate_on_submit():
        round_ = next((r for r in event.rounds if str(r.id) == form.round_id.data), None)
        done = perform(
            lambda: editing.create_session(
                db.session,
                current_user,
                event,
                key=form.key.data.strip(),
                kind=SessionKind(form.kind.data),
                round_=round_,
                changes=_changes(form, event),
                now=clock.now(),
            ),
            form,
        )
        if done.ok:
            flash(_("The session has been saved."))
            return redirect(url_for("admin.event", slug=event.slug), code=303)
        return render_template("admin/session_edit.html", event=event, session=None, form=form), 422
    return render_template("admin/session_edit.html", event=event, session=None, form=form), _shown(
        form
    )


@bp.post("/events/<slug>/sessions/<int:session_id>/cancel")
@requires(access.MANAGE)
def session_cancel(event: Event, session_id: int) -> Response:
    session = session_or_404(event, session_id)
    form = ConfirmForm()
    if not form.validate():
        flash(_("Tick the box to confirm."), "error")
        return redirect(
            url_for("admin.session_edit", slug=event.slug, session_id=session.id), code=303
        )
    done = perform(lambda: lifecycle.cancel_session(db.session, current_user, session, clock.now()))
    if done.ok:
        flash(
            _(
                "“%(session)s” is cancelled; %(num)d registrants told.",
                session=session.title,
                num=done.value,
            )
        )
    return redirect(url_for("admin.event", slug=event.slug), code=303)


class ConfirmForm(FlaskForm):
    confirm = BooleanField(
        _l("Yes, cancel this session for everyone"),
        validators=[InputRequired(_l("Tick the box to confirm."))],
    )
