"""An event's privacy statement: the organiser writes their own part; each save is a version."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import TextAreaField
from wtforms.validators import Length, Optional

from symposium import busy, clock
from symposium.blueprints.admin import bp, perform, requires
from symposium.extensions import db
from symposium.models import Event
from symposium.services.accounts import access
from symposium.services.privacy import statement


class PrivacyAdditionForm(FlaskForm):
    text_nl = TextAreaField(
        _l("Your part of the statement, in Dutch"),
        validators=[Optional(), Length(max=statement.LIMIT)],
        description=_l(
            "For example: who your contact for privacy questions is, and anything particular "
            "to this event (photographs, a meal by an outside caterer). Paragraphs are separated "
            "by an empty line."
        ),
    )
    text_en = TextAreaField(
        _l("The same in English (optional)"),
        validators=[Optional(), Length(max=statement.LIMIT)],
        description=_l("Shown to those who read in English; without it they see the Dutch."),
    )


@bp.route("/events/<slug>/privacy", methods=["GET", "POST"])
@requires(access.MANAGE)
def privacy_statement(event: Event) -> Response | str | tuple[str, int]:
    current = statement.statement(db.session, event)
    addition = current.addition if current is not None else None
    form = PrivacyAdditionForm(
        data={"text_nl": addition.text_nl, "text_en": addition.text_en} if addition else None
    )

    def page(status: int = 200) -> tuple[str, int]:
        return render_template(
            "admin/privacy.html",
            event=event,
            form=form,
            version=statement.version_of(event),
            history=statement.history(db.session, event),
            standard=statement.STANDARD_VERSION,
        ), status

    busy.keep_form(lambda: page()[0])
    if not form.validate_on_submit():
        return page(422 if form.is_submitted() else 200)
    outcome = perform(
        lambda: statement.save_addition(
            db.session, current_user, event, form.text_nl.data or "", form.text_en.data or "",
            clock.now(),
        ),
        form,
    )  # fmt: skip
    if not outcome.ok:
        return page(422)
    if outcome.value is None:
        flash(_("Nothing was changed."))
    else:
        flash(_("Saved as version %(version)s: new registrants agree to this version.",
                version=statement.version_of(event)))  # fmt: skip
    return redirect(url_for("admin.privacy_statement", slug=event.slug), code=303)
