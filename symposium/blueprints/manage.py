"""The registrant's own page behind the manage link: see, switch, cancel; their data."""

from __future__ import annotations

import json
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import BooleanField, EmailField, HiddenField, StringField, TelField, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Length, Optional

from symposium import busy, clock
from symposium.blueprints.registration import (
    add_register_fields,
    attach_errors,
    confirm_box,
    registration_rate_limit,
)
from symposium.extensions import csrf, db
from symposium.input_guard import whole_number
from symposium.models import Enrolment, EnrolmentStatus, Registration
from symposium.services.accreditation import corrections, lists, points
from symposium.services.certificates import codes, design, document, issuing
from symposium.services.checkin import ticket_pdf, tickets
from symposium.services.core.errors import RuleError
from symposium.services.core.urls import external_url
from symposium.services.mail import messages, render
from symposium.services.privacy import deletion, export
from symposium.services.privacy.retention import Retention
from symposium.services.programme import calendar
from symposium.services.programme.rules import asked_numbers
from symposium.services.registration import (
    availability,
    details,
    lifecycle,
    links,
    validation,
)

bp = Blueprint("manage", __name__, url_prefix="/r")


class ChangeForm(FlaskForm):
    session_id = HiddenField(validators=[InputRequired()])


class CancelEnrolmentForm(FlaskForm):
    enrolment_id = HiddenField(validators=[InputRequired()])
    # Sent by the confirmation page only: without it, the page asks first.
    confirmed = HiddenField(default="", validators=[AnyOf(["", "yes"])])


class RenewFeedForm(FlaskForm):
    pass


class CancelRegistrationForm(FlaskForm):
    confirm = BooleanField(
        _l("Yes, cancel my whole registration"),
        validators=[InputRequired(_l("Tick the box to confirm."))],
    )


class DeleteDataForm(FlaskForm):
    confirm = BooleanField(
        _l("Yes, cancel my places and delete my data"),
        validators=[InputRequired(_l("Tick the box to confirm."))],
    )


def _numbers_form(registration: Registration, registers: Any) -> Any:
    """The person's register numbers, the same fields as the registration form's."""

    class NumbersForm(FlaskForm):
        numbers_confirmed = BooleanField(_l("My register numbers are right as I entered them."))

    add_register_fields(NumbersForm, registers)
    form = NumbersForm(
        data={f"identifier_{r.code}": (registration.identifiers or {}).get(r.code, "")
              for r in registers}
    )  # fmt: skip
    return form


def _registration(token: str) -> Registration:
    registration = links.find_by_token(db.session, token)
    if registration is None:
        abort(404)
    # Every action here is a button on this page: a busy database shows the page again.
    busy.keep_form(lambda: _render(registration, token)[0])
    return registration


@bp.get("/<token>")
def show(token: str) -> str:
    registration = _registration(token)
    return _render(registration, token)


def _render(
    registration: Registration,
    token: str,
    cancel_form=None,
    status: int = 200,  # type: ignore[no-untyped-def]
    numbers_form=None,
):
    event = registration.event
    now = clock.now()
    registers = asked_numbers(db.session, event, registration.profession.code)
    started = now >= event.starts_at
    left = availability.places_for(db.session, event.sessions, registration.profession_id)
    live = [e for e in registration.enrolments if e.is_live]
    by_round: dict[int, list] = {}
    for e in live:
        if e.session.round_id is not None:
            by_round.setdefault(e.session.round_id, []).append(e)
    groups = [e for e in live if e.session.round_id is None]
    open_for_changes = validation.is_open(event, clock.now())
    taken = {e.session_id for e in live}
    choosable = validation.choosable(event.sessions, registration.profession)
    available_groups = [s for s in choosable if s.round_id is None and s.id not in taken]
    page = render_template(
        "manage/show.html",
        registration=registration,
        event=event,
        token=token,
        by_round=by_round,
        groups=groups,
        available_groups=available_groups,
        # Workshops to show per round (others' too, marked as not for this profession).
        enrollable_ids={s.id for s in event.sessions if validation.enrollable(s)},
        choosable_ids={s.id for s in choosable},
        places=left,
        waiting=availability.waiting_reasons(db.session, live),
        open_for_changes=open_for_changes and registration.is_active,
        details_open=details.can_correct(registration, now),
        new=request.args.get("new") == "1",
        change_form=ChangeForm(),
        cancel_form=cancel_form or CancelRegistrationForm(),
        renew_feed_form=RenewFeedForm(),
        feed_url=external_url(
            "feeds.feed", token=links.feed_token(current_app.config["SECRET_KEY"], registration)
        ),
        EnrolmentStatus=EnrolmentStatus,
        code=tickets.format_code(registration.checkin_code),
        qr_svg=Markup(
            tickets.qr_svg(registration.checkin_code, _("QR code of your check-in code"))
        ),
        results=points.registration_points(db.session, registration) if started else [],
        registers=registers,
        numbers_form=numbers_form or _numbers_form(registration, registers),
        numbers_open=corrections.can_change(db.session, registration, now),
        numbers_until=corrections.open_until(db.session, registration),
        confirm_numbers=confirm_box(numbers_form) if numbers_form is not None else False,
        sessions_attended=lists.sessions_attended,
        shown_points=points.shown_points,
        certificate=issuing.valid_certificate(db.session, registration),
        format_code=codes.format_code,
    )
    return page, status


@bp.post("/<token>/numbers")
def numbers(token: str):  # type: ignore[no-untyped-def]
    """Add or correct one's register numbers, until the registers' deadline."""
    registration = _registration(token)
    registers = asked_numbers(db.session, registration.event, registration.profession.code)
    form = _numbers_form(registration, registers)  # filled from the POST
    typed = {r.code: form[f"identifier_{r.code}"].data or "" for r in registers}
    if not form.validate():
        return _render(registration, token, status=422, numbers_form=form)
    try:
        changed = corrections.update_numbers(
            db.session, registration, typed, bool(form.numbers_confirmed.data), clock.now()
        )
    except validation.RegistrationInvalid as exc:
        db.session.rollback()
        attach_errors(form, exc.errors)
        return _render(registration, token, status=422, numbers_form=form)
    except RuleError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return redirect(url_for("manage.show", token=token), code=303)
    db.session.commit()
    flash(_("Your register numbers are saved.") if changed else _("Nothing was changed."))
    return redirect(url_for("manage.show", token=token) + "#points-heading", code=303)


def _own_calendar(registration: Registration, token: str) -> Response:
    """The registrant's confirmed programme, plenary sessions included (METHOD:PUBLISH)."""
    confirmed = [e for e in registration.enrolments if e.status is EnrolmentStatus.CONFIRMED]
    sequences = render.sequences(registration, confirmed)
    body = calendar.invite(
        registration,
        calendar.confirmed_sessions(registration),
        method="PUBLISH",
        sequence=lambda uid: sequences.get(uid, 0),
        manage_url=external_url("manage.show", token=token),
        now=clock.now(),
        organizer_email=render.sender_address(),
    )
    return Response(body, mimetype="text/calendar", headers={"Cache-Control": "no-store"})


@bp.get("/<token>/calendar.ics")
def calendar_file(token: str) -> Response:
    registration = _registration(token)
    response = _own_calendar(registration, token)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{registration.event.slug}.ics"'
    )
    return response


feeds = Blueprint("feeds", __name__, url_prefix="/feeds")


@feeds.get("/<token>.ics")
def feed(token: str) -> Response:
    """A subscribable calendar: its own revocable token, so the manage link stays private."""
    registration = links.find_by_feed_token(db.session, token)
    if registration is None:
        abort(404)
    secret = current_app.config["SECRET_KEY"]
    return _own_calendar(registration, links.manage_token(secret, registration))


@bp.post("/<token>/feed/renew")
def renew_feed(token: str) -> Response:
    registration = _registration(token)
    if not RenewFeedForm().validate():
        abort(400)
    links.renew_feed_token(db.session, registration, current_app.config["SECRET_KEY"])
    db.session.commit()
    flash(_("Your calendar feed has a new address; the old one no longer works."))
    return redirect(url_for("manage.show", token=token), code=303)


@bp.post("/<token>/change")
def change(token: str) -> Response:
    registration = _registration(token)
    form = ChangeForm()
    session_id = whole_number(form.session_id.data)
    if not form.validate() or session_id is None:
        abort(400)
    try:
        result = lifecycle.change_session(db.session, registration, session_id, clock.now())
    except RuleError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
    else:
        db.session.commit()
        if result.status is EnrolmentStatus.CONFIRMED:
            flash(_("You are confirmed for “%(session)s”.", session=result.session.title))
        elif result.replaces is not None:
            flash(
                _(
                    "“%(session)s” is full: you are on its waiting list (position %(n)d) and "
                    "keep your place in “%(old)s” until a place becomes free.",
                    session=result.session.title,
                    n=result.waitlist_position,
                    old=result.replaces.session.title,
                )
            )
        else:
            flash(
                _(
                    "“%(session)s” is full: you are on its waiting list (position %(n)d).",
                    session=result.session.title,
                    n=result.waitlist_position,
                )
            )
    return redirect(url_for("manage.show", token=token), code=303)


@bp.get("/<token>/cancel-session/<int:enrolment_id>")
def confirm_cancel_session(token: str, enrolment_id: int) -> str:
    """Ask before giving up a place (a page of its own: no JavaScript needed)."""
    registration = _registration(token)
    enrolment = _live_enrolment(registration, enrolment_id)
    form = CancelEnrolmentForm(enrolment_id=str(enrolment.id), confirmed="yes")
    return render_template(
        "manage/cancel_session.html", registration=registration, event=registration.event,
        token=token, enrolment=enrolment, form=form,
    )  # fmt: skip


def _live_enrolment(registration: Registration, enrolment_id: int) -> Enrolment:
    for enrolment in registration.enrolments:
        if enrolment.id == enrolment_id and enrolment.is_live:
            return enrolment
    abort(404)


@bp.post("/<token>/cancel-session")
def cancel_session(token: str) -> Response:
    """Give up one place, once confirmed; the notice says the place was released."""
    registration = _registration(token)
    form = CancelEnrolmentForm()
    enrolment_id = whole_number(form.enrolment_id.data)
    if not form.validate() or enrolment_id is None:
        abort(400)
    if form.confirmed.data != "yes":
        return redirect(
            url_for("manage.confirm_cancel_session", token=token, enrolment_id=enrolment_id),
            code=303,
        )
    held = next((e for e in registration.enrolments if e.id == enrolment_id), None)
    was_waiting = held is not None and held.status is EnrolmentStatus.WAITLISTED
    try:
        changed = lifecycle.cancel_enrolment(db.session, registration, enrolment_id, clock.now())
    except RuleError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        flash(str(exc.message), "error")
    else:
        db.session.commit()
        if changed and held is not None:
            title = held.session.title
            if was_waiting:
                flash(_("You are no longer on the waiting list of “%(session)s”.", session=title))
            else:
                flash(_("Your place in “%(session)s” has been released.", session=title))
    return redirect(url_for("manage.show", token=token), code=303)


@bp.post("/<token>/cancel")
def cancel(token: str):  # type: ignore[no-untyped-def]
    registration = _registration(token)
    form = CancelRegistrationForm()
    if not form.validate():
        return _render(registration, token, cancel_form=form, status=422)
    busy.keep_form(lambda: _render(registration, token, cancel_form=form)[0])
    if lifecycle.cancel_registration(db.session, registration, clock.now()):
        db.session.commit()
        flash(_("Your registration has been cancelled."))
    return redirect(url_for("manage.show", token=token), code=303)


@bp.get("/<token>/ticket.pdf")
def ticket(token: str):  # type: ignore[no-untyped-def]
    """The printable ticket; a cancelled registration gets a page saying so (410), no ticket."""
    registration = _registration(token)
    try:
        body = ticket_pdf.ticket_pdf(registration, clock.now())
    except ticket_pdf.NoTicket:
        page = render_template(
            "manage/no_ticket.html",
            registration=registration,
            event=registration.event,
            token=token,
        )
        return page, 410
    return Response(
        body,
        mimetype="application/pdf",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'inline; filename="{registration.event.slug}-ticket.pdf"',
        },
    )


@bp.get("/<token>/certificate.pdf")
def certificate(token: str) -> Response:
    """The registrant's valid certificate, the same PDF as the one mailed."""
    registration = _registration(token)
    found = issuing.valid_certificate(db.session, registration)
    if found is None:
        abort(404)
    body = document.pdf(found, design.design_of(db.session, registration.event))
    return Response(
        body,
        mimetype="application/pdf",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'inline; filename="{found.number}.pdf"',
        },
    )


@bp.get("/<token>/data.json")
def data_download(token: str) -> Response:
    """Everything kept about the registrant, as a JSON file (privacy.export)."""
    registration = _registration(token)
    body = json.dumps(export.personal_data(db.session, registration), ensure_ascii=False, indent=2)
    return Response(
        body,
        mimetype="application/json",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="{registration.event.slug}-data.json"',
        },
    )


def _delete_page(registration: Registration, token: str, form: DeleteDataForm) -> str:
    retention = Retention.from_config(current_app.config)
    return render_template(
        "manage/delete.html",
        registration=registration,
        event=registration.event,
        token=token,
        form=form,
        accreditation_until=retention.accreditation_until(registration.event),
        event_over=registration.event.ends_at <= clock.now(),
    )


@bp.get("/<token>/delete")
def delete_confirm(token: str) -> str:
    """The confirmation step: a page with a form, so it works without JavaScript."""
    registration = _registration(token)
    return _delete_page(registration, token, DeleteDataForm())


@bp.post("/<token>/delete")
def delete(token: str):  # type: ignore[no-untyped-def]
    form = DeleteDataForm()
    registration = links.find_by_token(db.session, token)
    if registration is None:
        if form.validate():  # submitted again after it was done: the link no longer works
            return redirect(url_for("manage.deleted"), code=303)
        abort(404)
    if not form.validate():
        return _delete_page(registration, token, form), 422
    busy.keep_form(lambda: _delete_page(registration, token, form))
    retention = Retention.from_config(current_app.config)
    deletion.request_deletion(db.session, registration, clock.now(), retention)
    db.session.commit()
    return redirect(url_for("manage.deleted"), code=303)


@bp.get("/deleted")
def deleted() -> str:
    return render_template("manage/deleted.html")


class DetailsForm(FlaskForm):
    """The person's own details, with the registration form's fields and limits."""

    name = StringField(_l("Full name"), validators=[InputRequired(), Length(max=200)])
    organisation = StringField(_l("Organisation"), validators=[Optional(), Length(max=200)])
    phone = TelField(_l("Phone number (optional)"), validators=[Optional(), Length(max=40)])
    needs = TextAreaField(
        _l("Accessibility or dietary needs (optional)"),
        validators=[Optional(), Length(max=2000)],
    )


class EmailForm(FlaskForm):
    email = EmailField(
        _l("New e-mail address"),
        validators=[InputRequired(), Length(max=254)],
        description=_l("We send a link to the new address; the change is made once you follow it."),
    )


class ConfirmEmailForm(FlaskForm):
    pass


def _details_page(
    registration: Registration,
    token: str,
    details_form: Any = None,
    email_form: Any = None,
    status: int = 200,
) -> tuple[str, int]:
    return render_template(
        "manage/details.html",
        registration=registration,
        event=registration.event,
        token=token,
        details_open=details.can_correct(registration, clock.now()),
        details_form=details_form or DetailsForm(obj=registration),
        email_form=email_form or EmailForm(),
    ), status


@bp.get("/<token>/details")
def edit_details(token: str) -> tuple[str, int]:
    """Correct one's name, organisation, phone and needs, or change the e-mail address."""
    registration = _registration(token)
    return _details_page(registration, token)


@bp.post("/<token>/details")
def save_details(token: str) -> Response | tuple[str, int]:
    registration = _registration(token)
    form = DetailsForm()
    busy.keep_form(lambda: _details_page(registration, token, details_form=form)[0])
    if not form.validate():
        return _details_page(registration, token, details_form=form, status=422)
    typed = details.Details(
        form.name.data or "", form.organisation.data or "", form.phone.data or "",
        form.needs.data or "",
    )  # fmt: skip
    try:
        changed = details.correct(db.session, registration, typed, clock.now())
    except validation.RegistrationInvalid as exc:
        db.session.rollback()
        attach_errors(form, exc.errors)
        return _details_page(registration, token, details_form=form, status=422)
    except RuleError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return redirect(url_for("manage.show", token=token), code=303)
    db.session.commit()
    flash(_("Your details are saved.") if changed else _("Nothing was changed."))
    return redirect(url_for("manage.show", token=token), code=303)


@bp.post("/<token>/email")
@registration_rate_limit  # each request mails an address someone typed: not without limit
def change_email(token: str) -> Response | tuple[str, int]:
    registration = _registration(token)
    form = EmailForm()
    busy.keep_form(lambda: _details_page(registration, token, email_form=form)[0])
    if not form.validate():
        return _details_page(registration, token, email_form=form, status=422)
    try:
        new = details.request_email_change(
            db.session, registration, form.email.data or "", clock.now(),
            current_app.config["SECRET_KEY"],
        )  # fmt: skip
    except validation.RegistrationInvalid as exc:
        db.session.rollback()
        attach_errors(form, exc.errors)
        return _details_page(registration, token, email_form=form, status=422)
    except RuleError as exc:
        db.session.rollback()
        if exc.field == "email":
            attach_errors(form, [exc])
            return _details_page(registration, token, email_form=form, status=exc.status)
        flash(str(exc.message), "error")
        return redirect(url_for("manage.show", token=token), code=303)
    db.session.commit()
    flash(
        _("We have sent a link to %(email)s. Your address changes once you follow it; until "
          "then we keep writing to %(old)s.", email=new, old=registration.email)
    )  # fmt: skip
    return redirect(url_for("manage.show", token=token), code=303)


@bp.route("/confirm-email/<token>", methods=["GET", "POST"])
def confirm_email(token: str) -> Response | tuple[str, int]:
    """The link mailed to a new address. Opening it asks (mail scanners open links too);
    the button makes the change."""
    form = ConfirmEmailForm()
    if request.method == "GET" or not form.validate():
        return render_template("manage/confirm_email.html", form=form, token=token), 200
    try:
        registration = details.confirm_email_change(
            db.session, token, clock.now(), current_app.config["SECRET_KEY"]
        )
    except RuleError as exc:
        db.session.rollback()
        return render_template(
            "manage/confirm_email.html", form=form, token=token, error=exc.message
        ), exc.status
    db.session.commit()
    return render_template(
        "manage/confirm_email.html", done=True, registration=registration, event=registration.event
    ), 200


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: a mail provider's one-click POST carries no form token
def unsubscribe(token: str) -> tuple[str, int]:
    """The List-Unsubscribe link of an organiser's message: opening it asks (mail scanners
    open links), a POST (the button, or the mail client's one click) unsubscribes."""
    registration = links.find_by_unsubscribe_token(
        db.session, current_app.config["SECRET_KEY"], token
    )
    if registration is None:
        return render_template("manage/unsubscribe.html", unknown=True, token=token), 404
    done = False
    if request.method == "POST":
        messages.unsubscribe(db.session, registration, clock.now())
        db.session.commit()
        done = True
    return render_template(
        "manage/unsubscribe.html",
        registration=registration,
        event=registration.event,
        token=token,
        done=done or registration.unsubscribed_at is not None,
    ), 200
