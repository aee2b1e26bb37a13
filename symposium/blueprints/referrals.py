"""The referral form: a GP or social worker refers a client to a series, on a phone, no script.

Load the series (404 unless a published series) → parse the form → ``referrals.intake`` →
the receipt page with the reference (rendered in answer to the POST: sending it again, by
refresh or double tap, finds the same referral by the form's one-time key).
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, abort, render_template
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, Regexp

from symposium import busy, clock
from symposium.blueprints.registration import MultiCheckboxField, registration_limit
from symposium.extensions import db, limiter
from symposium.filters import localised_name
from symposium.input_guard import SingleLine
from symposium.models import Event
from symposium.services.core.errors import RuleError
from symposium.services.programme import public
from symposium.services.referrals import intake

bp = Blueprint("referrals", __name__)

# As many referrals as registrations per client address (REGISTRATION_RATE_LIMIT), counted
# apart: a practice's shared address that registers for a symposium can still refer.
referral_rate_limit = limiter.shared_limit(registration_limit, scope="referral", methods=["POST"])


class ReferralForm(FlaskForm):
    referrer_name = StringField(
        _l("Your name"), validators=[InputRequired(), SingleLine(), Length(max=200)]
    )
    referrer_organisation = StringField(
        _l("Your practice or organisation"),
        validators=[InputRequired(), SingleLine(), Length(max=200)],
    )
    referrer_profession = SelectField(_l("Your profession"), validators=[InputRequired()])
    referrer_email = EmailField(
        _l("Your work e-mail address"),
        validators=[InputRequired(), SingleLine(), Length(max=254)],
        description=_l("We send the receipt with the reference here."),
    )
    referrer_phone = TelField(
        _l("Your work phone number"), validators=[InputRequired(), SingleLine(), Length(max=40)]
    )
    agb_code = StringField(
        _l("AGB code (optional)"),
        validators=[
            Optional(),
            Regexp(r"^[0-9]{8}$", message=_l("An AGB code is exactly 8 digits.")),
        ],
        description=_l("8 digits, for a GP practice."),
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    client_name = StringField(
        _l("First name or initials"),
        validators=[InputRequired(), SingleLine(), Length(max=100)],
        description=_l("No surname or date of birth: we only need to know who to ask for."),
    )
    client_phone = TelField(
        _l("Phone number"),
        validators=[Optional(), SingleLine(), Length(max=40)],
        description=_l("Give a phone number, an e-mail address, or both."),
    )
    client_email = EmailField(
        _l("E-mail address"), validators=[Optional(), SingleLine(), Length(max=254)]
    )
    client_language = SelectField(_l("Language the client prefers"), validators=[InputRequired()])
    themes = MultiCheckboxField(_l("Themes the client would like"), validate_choice=True)
    coordinator_chooses = BooleanField(_l("Let the coordinator choose with the client"))
    need = TextAreaField(
        _l("What does the client need? (optional)"),
        validators=[Optional(), Length(max=intake.NEED_LIMIT)],
        description=_l(
            "A few words, at most %(num)d characters. Only the coordinators read this; "
            "no diagnosis needed.",
            num=intake.NEED_LIMIT,
        ),
    )
    contact_consent = BooleanField(
        _l("The client agreed that a coordinator contacts them."),
        validators=[
            InputRequired(
                _l("Refer a client only when they agreed to be contacted by the coordinator.")
            )
        ],
    )
    feedback_consent = BooleanField(
        _l("The client agreed that you hear from us how the referral goes (optional).")
    )
    submission_key = HiddenField()


def build_form(event: Event) -> ReferralForm:
    """The form with this series' themes and the fixed lists, in the current language."""
    form = ReferralForm()
    form.referrer_profession.choices = [SelectChoice("", _l("Choose…"))] + [
        SelectChoice(code, str(label)) for code, label in intake.PROFESSIONS.items()
    ]
    form.client_language.choices = [SelectChoice("", _l("Choose…"))] + [
        SelectChoice(code, str(label)) for code, label in intake.LANGUAGES.items()
    ]
    form.themes.choices = [
        SelectChoice(t.code, localised_name(t)) for t in intake.themes_of(db.session, event)
    ]
    return form


@bp.route("/events/<slug>/refer", methods=["GET", "POST"])
@referral_rate_limit
def refer(slug: str) -> Response | str | tuple[str, int]:
    event = public.public_event(db.session, slug)
    if event is None or not intake.takes_referrals(event):
        abort(404)
    form = build_form(event)

    def page() -> str:
        return render_template("referrals/form.html", event=event, form=form)

    if not form.is_submitted():
        form.submission_key.data = secrets.token_urlsafe(24)
        return page()
    busy.keep_form(page)
    form_ok = form.validate()
    data = intake.ReferralInput(
        referrer_name=form.referrer_name.data or "",
        referrer_organisation=form.referrer_organisation.data or "",
        referrer_profession=form.referrer_profession.data or "",
        referrer_email=form.referrer_email.data or "",
        referrer_phone=form.referrer_phone.data or "",
        agb_code=form.agb_code.data or "",
        client_name=form.client_name.data or "",
        client_phone=form.client_phone.data or "",
        client_email=form.client_email.data or "",
        client_language=form.client_language.data or "",
        themes=list(form.themes.data or []),
        coordinator_chooses=bool(form.coordinator_chooses.data),
        need=form.need.data or "",
        contact_consent=bool(form.contact_consent.data),
        feedback_consent=bool(form.feedback_consent.data),
        language=str(get_locale()),
        submission_key=form.submission_key.data or None,
    )
    try:
        if not form_ok:
            # The service's verdicts too (a way to reach the client), all in one go.
            raise intake.ReferralInvalid(intake.problems(db.session, event, data))
        outcome = intake.refer(db.session, event, data, clock.now())
    except intake.ReferralInvalid as exc:
        db.session.rollback()
        attach_errors(form, exc.errors)
    except RuleError as exc:
        db.session.rollback()
        attach_errors(form, [exc])
    else:
        db.session.commit()
        return render_template("referrals/received.html", event=event, referral=outcome.referral)
    return page(), 422


def attach_errors(form: Any, errors: list[RuleError]) -> None:
    """Each rule's message next to its field, unless the form put one there already."""
    for error in errors:
        if error.field in form and not form[error.field].errors:
            form[error.field].errors = [error.message]
        elif error.field not in form:
            form.form_errors.append(error.message)
