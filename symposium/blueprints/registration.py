"""Registration form: pick your profession, then fill in the form that fits it."""

from __future__ import annotations

import secrets
from collections.abc import Collection, Iterable
from typing import Any, ClassVar

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from symposium import busy, clock
from symposium.extensions import db, limiter
from symposium.filters import localised_name
from symposium.input_guard import whole_number
from symposium.models import Event, Profession
from symposium.services.core.errors import RuleError
from symposium.services.privacy import statement
from symposium.services.programme import public
from symposium.services.programme.rules import RegisterRule, asked_numbers, required_numbers
from symposium.services.registration import availability, lifecycle, validation

bp = Blueprint("registration", __name__)


def registration_limit() -> str:
    return current_app.config["REGISTRATION_RATE_LIMIT"]


# One bucket per client address for every way of registering (this form's POST and the API's),
# so REGISTRATION_RATE_LIMIT is what one address gets in total, not per entrance.
registration_rate_limit = limiter.shared_limit(
    registration_limit, scope="registration", methods=["POST"]
)


class ProfessionForm(FlaskForm):
    """Step one (GET): the profession decides which fields and workshops are shown."""

    class Meta:
        csrf = False

    profession = SelectField(_l("Your profession"), choices=[], validators=[InputRequired()])


class RegistrationForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[InputRequired(), Length(max=200)])
    email = EmailField(_l("E-mail address"), validators=[InputRequired(), Length(max=254)])
    profession = HiddenField()
    organisation = StringField(_l("Organisation"), validators=[Optional(), Length(max=200)])
    phone = TelField(_l("Phone number (optional)"), validators=[Optional(), Length(max=40)])
    needs = TextAreaField(
        _l("Accessibility or dietary needs (optional)"),
        validators=[Optional(), Length(max=2000)],
    )
    consent = BooleanField(
        _l("I agree that my details are used for this event as described in the privacy "
           "statement."),
        validators=[InputRequired(_l("Please agree to the privacy statement."))],
    )  # fmt: skip
    submission_key = HiddenField()
    privacy_version = HiddenField()
    # Shown once a number drew a warning (a BIG number of another profession).
    numbers_confirmed = BooleanField(_l("My register numbers are right as I entered them."))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class Needed:
    """Marks a field as required (its ``*``) where the service, not the form, checks it."""

    field_flags: ClassVar[dict[str, bool]] = {"required": True}

    def __call__(self, form: Any, field: Any) -> None:
        pass


def add_register_fields(
    form_class: Any, registers: Iterable[RegisterRule], required: Collection[str] = ()
) -> None:
    """An ``identifier_<code>`` field for each number asked, in the current language (the
    registration form and the door's walk-in form); ``required`` codes carry the ``*``."""
    locale = str(get_locale())
    for register in registers:
        needed = [Needed()] if register.code in required else []
        setattr(
            form_class,
            f"identifier_{register.code}",
            StringField(
                register.identifier_name(locale),
                description=register.identifier_hint_en
                if locale == "en"
                else register.identifier_hint_nl,
                validators=[*needed, Optional(), Length(max=40)],
            ),
        )


def build_form(event: Event, profession: Profession) -> Any:
    """The registration form for one profession: its register numbers, its sessions."""

    class Form(RegistrationForm):
        pass

    add_register_fields(
        Form,
        asked_numbers(db.session, event, profession.code),
        required_numbers(db.session, event, profession.code),
    )
    for round_ in event.rounds:
        options = validation.choosable(round_.sessions, profession)
        if options:
            choices = [SelectChoice("", _l("No workshop in this round"))]
            choices += [SelectChoice(str(s.id), s.title) for s in options]
            setattr(
                Form,
                f"round_{round_.id}",
                RadioField(round_.title, choices=choices, default="", validate_choice=True),
            )
    groups = [s for s in validation.choosable(event.sessions, profession) if s.round_id is None]
    if groups:
        Form.groups = MultiCheckboxField(
            _l("Groups"),
            choices=[SelectChoice(str(s.id), s.title) for s in groups],
            validate_choice=True,
        )
    return Form


def _event(slug: str) -> Event:
    event = public.public_event(db.session, slug)
    if event is None:
        abort(404)
    return event


def _profession(event: Event, code: str | None) -> Profession | None:
    if not code:
        return None
    admitted = public.admitted_professions(db.session, event)
    return next((p for p in admitted if p.code == code), None)


@bp.route("/events/<slug>/register", methods=["GET", "POST"])
@registration_rate_limit
def register(slug: str) -> Response | str | tuple[str, int]:
    event = _event(slug)
    now = clock.now()
    try:
        validation.check_open(event, now)
    except RuleError as exc:
        return render_template("registration/closed.html", event=event, reason=exc), 409

    profession = _profession(event, request.values.get("profession"))
    if profession is None:
        form = ProfessionForm(request.args)
        form.profession.choices = [SelectChoice("", _l("Choose…"))] + [
            SelectChoice(p.code, localised_name(p))
            for p in public.admitted_professions(db.session, event)
        ]
        if request.args.get("profession"):
            form.validate()
        return render_template("registration/profession.html", event=event, form=form)

    left = availability.places_for(db.session, event.sessions, profession.id)
    form = build_form(event, profession)()
    registers = asked_numbers(db.session, event, profession.code)

    def page() -> str:
        return render_template(
            "registration/form.html",
            event=event,
            form=form,
            round_fields=[f for f in form if f.name.startswith("round_")],
            profession=profession,
            registers=registers,
            confirm_numbers=confirm_box(form),
            places=left,
            sessions={s.id: s for s in event.sessions},
        )

    if request.method == "GET":
        form.profession.data = profession.code
        form.submission_key.data = secrets.token_urlsafe(24)
        form.privacy_version.data = statement.version_of(event)
    else:
        busy.keep_form(page)
        form_ok = form.validate()
        data = validation.RegistrationInput(
            name=form.name.data or "",
            email=form.email.data or "",
            profession=profession.code,
            consent=bool(form.consent.data),
            organisation=form.organisation.data or "",
            phone=form.phone.data or "",
            needs=form.needs.data or "",
            language=str(get_locale()),
            identifiers={r.code: form[f"identifier_{r.code}"].data or "" for r in registers},
            sessions=_chosen(form),
            submission_key=form.submission_key.data or None,
            privacy_version=form.privacy_version.data or None,
            numbers_confirmed=bool(form.numbers_confirmed.data),
        )
        try:
            if not form_ok:
                # Show the rules' verdicts too, so every problem is reported in one go.
                validation.validate(db.session, event, data)
                raise validation.RegistrationInvalid([])
            outcome = lifecycle.register(
                db.session, event, data, now, current_app.config["SECRET_KEY"]
            )
        except validation.RegistrationInvalid as exc:
            db.session.rollback()
            attach_errors(form, exc.errors)
            if any(e.code == "privacy_statement_changed" for e in exc.errors):
                # Shown again with the current statement, to be read and agreed to anew.
                form.privacy_version.data = statement.version_of(event)
                form.consent.data = False
        except RuleError as exc:
            db.session.rollback()
            attach_errors(form, [exc])
        else:
            db.session.commit()
            if outcome.created or outcome.resubmitted:
                return redirect(url_for("manage.show", token=outcome.token, new=1), code=303)
            return render_template("registration/link_sent.html", event=event)
    return page(), 422 if request.method == "POST" else 200


def _chosen(form: Any) -> list[int]:
    values = [f.data for f in form if f.name.startswith("round_") and f.data]
    if "groups" in form:
        values += form.groups.data or []
    return [n for v in values if (n := whole_number(str(v))) is not None]


def confirm_box(form: Any) -> bool:
    """Whether the form shows the box confirming a number that drew a warning: once it did,
    and while it stays ticked."""
    warned = any(f.name.startswith("identifier_") and getattr(f, "warned", False) for f in form)
    return warned or bool(form.numbers_confirmed.data)


def attach_errors(form: Any, errors: list[RuleError]) -> None:
    """Show each service error next to its field (or above the form when it has none)."""
    form.form_errors = []
    for error in errors:
        field = error.field if error.field in form else None
        if field in (None, "sessions", "profession", "submission_key"):
            form.form_errors.append(error.message)
        elif not form[field].errors:  # one message per field: the form's own comes first
            form[field].errors = [error.message]
            form[field].warned = error.code == "identifier_unexpected"
