"""Accreditation in the back-office: per register the overview, the attendance list with each
person's points and reasons, an override with its reason, and the files each register takes
(``services/accreditation``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from symposium import clock
from symposium.blueprints.admin import bp, perform, requires
from symposium.blueprints.admin.exports import download
from symposium.extensions import db
from symposium.input_guard import whole_number
from symposium.models import Accreditation, Event, Registration, Rounding, Scope
from symposium.services.accounts import access
from symposium.services.accreditation import (
    editing,
    list_documents,
    lists,
    overrides,
    overview,
    points,
    reminders,
)
from symposium.services.core.errors import RuleError


class AccreditationForm(FlaskForm):
    """A register's accreditation; ``points_<session id>`` fields are added per session."""

    register = SelectField(_l("Register"), choices=[], validators=[InputRequired()])
    body = StringField(
        _l("Accredited by"),
        description=_l("Only when not the register itself, e.g. ABC1 or a regional GP body."),
        validators=[Length(max=200)],
    )
    activity_id = StringField(
        _l("Activity ID"),
        description=_l("The number the register gave the activity (GAIA-ID, PE-online ID)."),
        validators=[Length(max=60)],
    )
    scope = RadioField(
        _l("Accredited"),
        choices=[
            SelectChoice(
                Scope.SESSION.value, _l("per session: points for each session attended in full")
            ),
            SelectChoice(Scope.EVENT.value, _l("the whole event only: all points or none")),
        ],
        default=Scope.SESSION.value,
    )
    daily_cap = StringField(
        _l("At most per day"),
        description=_l("Points; empty for no cap (doctors: 6)."),
        validators=[Length(max=10)],
    )
    rounding = SelectField(
        _l("Rounding, always down"),
        choices=[
            SelectChoice(Rounding.NONE.value, _l("none")),
            SelectChoice(Rounding.HALF.value, _l("to half points")),
            SelectChoice(Rounding.WHOLE.value, _l("to whole points")),
        ],
        default=Rounding.NONE.value,
    )
    deadline = DateField(
        _l("Deadline for entering presence"), validators=[Optional()],
        description=_l("PE-online: at most two months after the event."),
    )  # fmt: skip


class DeleteForm(FlaskForm):
    confirm = BooleanField(
        _l("Yes, remove this accreditation, with its overridden points"),
        validators=[InputRequired(_l("Tick the box to confirm."))],
    )


class AskForm(FlaskForm):
    """Mail everyone on the missing list a link to add their number."""


class OverrideForm(FlaskForm):
    """One person's points for one register, set by the organiser with the reason."""

    registration_id = HiddenField()
    points = StringField(
        _l("Points"),
        description=_l("Leave empty to go back to the computed points."),
        validators=[Length(max=10)],
    )
    reason = TextAreaField(
        _l("Reason"), validators=[InputRequired(_l("Write down why.")), Length(max=1000)]
    )


def _accreditation(event: Event, code: str) -> Accreditation:
    try:
        return lists.accreditation_for(db.session, event, code)
    except RuleError:
        abort(404)


def _day(event: Event, accreditation: Accreditation) -> date | None:
    """``?date=YYYY-MM-DD``: one activity date of the register's sessions (404 for another)."""
    raw = request.args.get("date")
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        abort(404)
    if day not in lists.days_of(event, accreditation):
        abort(404)
    return day


def _decimal(raw: str | None) -> Decimal | None:
    """ "1,5" or "1.5" as a Decimal; None for empty; ValueError when not a number."""
    text = (raw or "").strip().replace(",", ".")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(text) from exc
    if not value.is_finite():
        raise ValueError(text)
    return value


def _accreditation_form(event: Event, found: Accreditation | None) -> Any:
    """The form with one points field per session, prefilled from ``found`` (or, for a new
    accreditation, with each session's contact hours)."""

    class Form(AccreditationForm):
        pass

    have = {row.session_id: row.points for row in found.sessions} if found else {}
    for session in event.sessions:
        default = have.get(session.id) if found else session.hours
        setattr(
            Form, f"points_{session.id}",
            StringField(
                session.title,
                description=_l("%(hours)s contact hours; empty: not accredited",
                               hours=points.shown_points(session.hours or 0)),
                default=points.shown_points(default) if default is not None else "",
                validators=[Length(max=10)],
            ),
        )  # fmt: skip
    data = {}
    if found is not None:
        data = {
            "register": found.register.code, "body": found.body,
            "activity_id": found.activity_id, "scope": found.scope.value,
            "daily_cap": points.shown_points(found.daily_cap) if found.daily_cap else "",
            "rounding": found.rounding.value, "deadline": found.deadline,
        }  # fmt: skip
    form = Form(data=data)
    # Offered: the registers not recorded yet. A POST may name a recorded one (the form
    # sent twice): saving it again updates it, which changes nothing.
    taken = set() if request.method == "POST" else {
        a.register.code for a in points.accreditations(db.session, event)
    }  # fmt: skip
    form.register.choices = [
        SelectChoice(r.code, f"{r.short_name} – {r.name}")
        for r in editing.accrediting_registers(db.session)
        if r.code not in taken or (found is not None and r.code == found.register.code)
    ]
    return form


def _save_accreditation(event: Event, form: Any, code: str) -> Response | None:
    """Validate the form and save; None when it comes back with its problems."""
    if not form.validate_on_submit():
        return None
    values: dict[str, Any] = {
        "body": (form.body.data or "").strip(),
        "activity_id": (form.activity_id.data or "").strip(),
        "scope": Scope(form.scope.data), "rounding": Rounding(form.rounding.data),
        "deadline": form.deadline.data,
    }  # fmt: skip
    session_points: dict[int, Decimal | None] = {}
    try:
        values["daily_cap"] = _decimal(form.daily_cap.data)
    except ValueError:
        form.daily_cap.errors = [_l("Enter a number of points, such as 1.5.")]
    for session in event.sessions:
        field = form[f"points_{session.id}"]
        try:
            session_points[session.id] = _decimal(field.data)
        except ValueError:
            field.errors = [_l("Enter a number of points, such as 1.5.")]
    if any(f.errors for f in form):
        return None
    done = perform(
        lambda: editing.save(db.session, current_user, event, code, values, session_points,
                             clock.now()),
        form,
    )  # fmt: skip
    if not done.ok:
        return None
    flash(str(_l("The accreditation is saved.")), "success")
    return redirect(url_for("admin.accreditation_overview", slug=event.slug), code=303)


@bp.route("/events/<slug>/accreditation/new", methods=["GET", "POST"])
@requires(access.MANAGE)
def accreditation_new(event: Event) -> Response | tuple[str, int] | str:
    """Record a register's accreditation: activity ID, rules, points per session."""
    form = _accreditation_form(event, None)
    heading = str(_l("New accreditation"))
    if request.method == "POST":
        done = _save_accreditation(event, form, form.register.data or "")
        if done is not None:
            return done
        return render_template("admin/form.html", form=form, heading=heading, event=event), 422
    return render_template("admin/form.html", form=form, heading=heading, event=event)


@bp.route("/events/<slug>/accreditation/<code>/edit", methods=["GET", "POST"])
@requires(access.MANAGE)
def accreditation_edit(event: Event, code: str) -> Response | tuple[str, int] | str:
    found = _accreditation(event, code)
    form = _accreditation_form(event, found)
    del form["register"]  # the register is the page's: the heading names it
    heading = found.register.name

    def page(delete_form: DeleteForm | None = None) -> str:
        return render_template(
            "admin/accreditation_edit.html", form=form, heading=heading, event=event,
            code=found.register.code, delete_form=delete_form or DeleteForm(formdata=None),
        )  # fmt: skip

    if request.method == "POST":
        done = _save_accreditation(event, form, found.register.code)
        if done is not None:
            return done
        return page(), 422
    return page()


@bp.post("/events/<slug>/accreditation/<code>/delete")
@requires(access.MANAGE)
def accreditation_delete(event: Event, code: str) -> Response | tuple[str, int]:
    try:
        found = lists.accreditation_for(db.session, event, code)
    except RuleError:  # removed already (the form sent twice)
        flash(str(_l("The accreditation is removed.")), "success")
        return redirect(url_for("admin.accreditation_overview", slug=event.slug), code=303)
    form = DeleteForm()
    if not form.validate():
        edit = _accreditation_form(event, found)
        del edit["register"]
        return render_template(
            "admin/accreditation_edit.html", form=edit, heading=found.register.name,
            event=event, code=code, delete_form=form,
        ), 422  # fmt: skip
    done = perform(lambda: editing.delete(db.session, current_user, found, clock.now()))
    if done.ok:
        flash(str(_l("The accreditation is removed.")), "success")
    return redirect(url_for("admin.accreditation_overview", slug=event.slug), code=303)


@bp.get("/events/<slug>/accreditation")
@requires(access.MANAGE)
def accreditation_overview(event: Event) -> str:
    """Per register: sessions, who earned points, who lacks a number, deadline, exports."""
    return render_template(
        "admin/accreditation.html",
        event=event,
        registers=overview.event_overview(db.session, event, clock.now()),
        can_add=len(editing.accrediting_registers(db.session))
        > len(points.accreditations(db.session, event)),
    )


@bp.get("/events/<slug>/accreditation/<code>")
@requires(access.MANAGE)
def accreditation_list(event: Event, code: str) -> str:
    """One register's attendance list on screen: points, reasons, missing numbers."""
    accreditation = _accreditation(event, code)
    found = lists.attendance_list(db.session, event, accreditation, _day(event, accreditation))
    return render_template(
        "admin/accreditation_list.html",
        event=event,
        found=found,
        form=OverrideForm(),
        ask_form=AskForm(),
        header=lists.header(found),
        failed_for=None,
        sessions_attended=lists.sessions_attended,
        shown_points=points.shown_points,
    )


@bp.get("/events/<slug>/accreditation/<code>/attendance.<fmt>")
@requires(access.MANAGE)
def accreditation_file(event: Event, code: str, fmt: str) -> Response:
    """The paste list (txt), the XLSX or the PDF presence list; noted as exported."""
    if fmt not in list_documents.EXTENSIONS.values():
        abort(404)
    kind = next(k for k, ext in list_documents.EXTENSIONS.items() if ext == fmt)
    accreditation = _accreditation(event, code)
    found = lists.attendance_list(db.session, event, accreditation, _day(event, accreditation))
    now = clock.now()
    body, mimetype, name = list_documents.document(found, kind, now, str(get_locale()))
    # A browser fetching links ahead of a click has not taken the list out.
    purpose = request.headers.get("Sec-Purpose", "") + request.headers.get("Purpose", "")
    if request.method == "GET" and "prefetch" not in purpose:
        lists.record_export(db.session, current_user, found, kind, now)
        db.session.commit()
    if kind == "paste":
        mimetype = "text/plain; charset=utf-8"
    return download(body, mimetype, name)


@bp.post("/events/<slug>/accreditation/<code>/ask")
@requires(access.MANAGE)
def accreditation_ask(event: Event, code: str) -> Response:
    """Ask those who earned points without a number to add it (one mail each, not twice)."""
    accreditation = _accreditation(event, code)
    if not AskForm().validate():
        abort(400)
    found = lists.attendance_list(db.session, event, accreditation)
    done = perform(lambda: reminders.ask_missing(db.session, current_user, found, clock.now()))
    if done.ok:
        flash(
            str(ngettext("%(num)d person was mailed a link to add their number.",
                         "%(num)d people were mailed a link to add their number.",
                         done.value or 0)),
            "success",
        )  # fmt: skip
    return redirect(url_for("admin.accreditation_list", slug=event.slug, code=code) + "#missing",
                    code=303)  # fmt: skip


@bp.post("/events/<slug>/accreditation/<code>/points")
@requires(access.MANAGE)
def accreditation_override(event: Event, code: str) -> Response | tuple[str, int]:
    """Set (or clear) one person's points with the register, with the reason; audited."""
    accreditation = _accreditation(event, code)
    form = OverrideForm()
    registration_id = whole_number(form.registration_id.data)
    registration = db.session.get(Registration, registration_id) if registration_id else None
    if registration is None or registration.event_id != event.id:
        abort(404)
    value: Decimal | None = None
    if form.validate():
        try:
            value = _decimal(form.points.data)
        except ValueError:
            form.points.errors = [_l("Enter a number of points, such as 1.5.")]
    if not form.errors:
        done = perform(
            lambda: overrides.set_points(
                db.session, current_user, registration, accreditation, value,
                form.reason.data or "", clock.now(),
            ),
            form,
        )  # fmt: skip
        if done.ok:
            flash(str(_l("Points saved for %(name)s.", name=registration.name)), "success")
            return redirect(
                url_for("admin.accreditation_list", slug=event.slug, code=code,
                        date=request.args.get("date") or None)
                + f"#person-{registration.id}",
                code=303,
            )  # fmt: skip
    found = lists.attendance_list(db.session, event, accreditation)
    return render_template(
        "admin/accreditation_list.html",
        event=event, found=found, form=form, failed_for=registration.id,
        header=lists.header(found), ask_form=AskForm(),
        sessions_attended=lists.sessions_attended, shown_points=points.shown_points,
    ), 422  # fmt: skip
