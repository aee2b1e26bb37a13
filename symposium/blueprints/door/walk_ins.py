"""Adding someone at the door, through the same enrolment rules as the back-office.

Two steps, as the registration form: the profession first (it decides which register
numbers are asked and whether the session admits them), then the person's details.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

from flask import current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import BooleanField, EmailField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from symposium import busy, clock
from symposium.blueprints.admin import requires, session_or_404
from symposium.blueprints.door import bp
from symposium.blueprints.registration import (
    add_register_fields,
    attach_errors,
    confirm_box,
)
from symposium.extensions import db
from symposium.filters import localised_name
from symposium.models import Event, Profession, Session
from symposium.services.accounts import access
from symposium.services.checkin import walk_ins
from symposium.services.core.errors import RuleError
from symposium.services.programme import public
from symposium.services.programme.rules import RegisterRule, asked_numbers
from symposium.services.registration import places, validation


class ProfessionForm(FlaskForm):
    """Step one (GET, changes nothing): the walk-in's profession."""

    class Meta:
        csrf = False

    profession = SelectField(_l("Profession"), choices=[], validators=[InputRequired()])


class WalkInForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[InputRequired(), Length(max=200)])
    email = EmailField(
        _l("E-mail address"),
        description=_l("Their ticket and certificate are sent here."),
        validators=[InputRequired(), Length(max=254)],
    )
    organisation = StringField(_l("Organisation"), validators=[Optional(), Length(max=200)])
    profession = HiddenField()
    consent = BooleanField(
        _l("They know how their details are used (the privacy statement) and agree."),
        validators=[InputRequired(_l("Ask them to agree to the privacy statement first."))],
    )
    override = BooleanField(_l("Over capacity: the session or event is full"))
    reason = TextAreaField(_l("Reason (required for an override)"), validators=[Length(max=500)])
    submission_key = HiddenField()
    numbers_confirmed = BooleanField(_l("Their register numbers are right as entered."))


def _form_class(registers: Iterable[RegisterRule]) -> Any:
    """The walk-in form with the register numbers this profession's registers need."""

    class Form(WalkInForm):
        pass

    add_register_fields(Form, registers)
    return Form


def _professions(event: Event, session: Session) -> list[Profession]:
    """The professions of the event that this session admits."""
    return [p for p in public.admitted_professions(db.session, event) if session.admits(p)]


@bp.route("/<slug>/sessions/<int:session_id>/walk-in", methods=["GET", "POST"])
@requires(access.MANAGE)
def walk_in(event: Event, session_id: int) -> Response | str | tuple[str, int]:
    """Add someone who is not registered, and check them in to this session."""
    session = session_or_404(event, session_id)
    admitted = _professions(event, session)
    code = request.values.get("profession")
    profession = next((p for p in admitted if p.code == code), None) if code else None
    left = places.places_left(db.session, [session]).get(session.id)
    if profession is None:
        choose = ProfessionForm(request.args)
        choose.profession.choices = [SelectChoice("", _l("Choose…"))] + [
            SelectChoice(p.code, localised_name(p)) for p in admitted
        ]
        status = 200
        if code:
            choose.validate()
            if not choose.profession.errors:
                choose.profession.errors = [_l("This session does not admit that profession.")]
            status = 422
        return render_template(
            "door/walk_in_profession.html", event=event, session=session, form=choose, left=left
        ), status

    registers = asked_numbers(db.session, event, profession.code)
    form = _form_class(registers)()

    def page() -> str:
        return render_template(
            "door/walk_in.html", event=event, session=session, form=form, profession=profession,
            left=left, identifiers=[f for f in form if f.name.startswith("identifier_")],
            confirm_numbers=confirm_box(form),
        )  # fmt: skip

    if request.method == "GET":
        form.profession.data = profession.code
        form.submission_key.data = secrets.token_urlsafe(24)
        return page()
    busy.keep_form(page)
    form_ok = form.validate()
    data = validation.RegistrationInput(
        name=form.name.data or "",
        email=form.email.data or "",
        profession=profession.code,
        consent=bool(form.consent.data),
        organisation=form.organisation.data or "",
        language=str(get_locale()),
        identifiers={r.code: form[f"identifier_{r.code}"].data or "" for r in registers},
        submission_key=form.submission_key.data or None,
        numbers_confirmed=bool(form.numbers_confirmed.data),
    )
    try:
        if not form_ok:
            validation.validate(db.session, event, data)  # every problem in one go
            raise validation.RegistrationInvalid([])
        walk_ins.walk_in(
            db.session, current_user, session, data, clock.now(),
            current_app.config["SECRET_KEY"],
            override_reason=(form.reason.data or "") if form.override.data else None,
        )  # fmt: skip
    except validation.RegistrationInvalid as exc:
        db.session.rollback()
        attach_errors(form, exc.errors)
        return page(), 422
    except RuleError as exc:
        db.session.rollback()
        attach_errors(form, [exc])
        return page(), 403 if exc.status == 403 else 422
    db.session.commit()
    return redirect(
        url_for(
            "door.session", slug=event.slug, session_id=session.id,
            scan=walk_ins.client_id_for(data.submission_key or ""),
        ),
        code=303,
    )  # fmt: skip
