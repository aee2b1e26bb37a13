"""The organiser's messages to registrants: write, preview with the count, then send once."""

from __future__ import annotations

import secrets

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired, Length, Regexp

from symposium import busy, clock
from symposium.blueprints.admin import bp, perform, requires
from symposium.extensions import db
from symposium.models import Event, Session
from symposium.services.accounts import access
from symposium.services.core.errors import RuleError
from symposium.services.mail import messages
from symposium.services.registration import validation


class MessageForm(FlaskForm):
    audience = SelectField(_l("To"), choices=[], validate_choice=True, default="")
    subject = StringField(
        _l("Subject"), validators=[InputRequired(), Length(max=messages.SUBJECT_LIMIT)]
    )
    body = TextAreaField(
        _l("Message"),
        validators=[InputRequired(), Length(max=messages.BODY_LIMIT)],
        description=_l(
            "Plain text. It starts with “Dear …,” and ends with your name and a link to "
            "unsubscribe from your messages."
        ),
    )
    # Made with the preview: sending the same preview twice sends once.
    key = HiddenField(validators=[Regexp(r"^[A-Za-z0-9_-]{0,64}$")])
    action = HiddenField(default="preview", validators=[AnyOf(["preview", "send", "edit"])])


def _form(event: Event) -> MessageForm:
    form = MessageForm()
    form.audience.choices = [SelectChoice("", _l("Everyone registered"))] + [
        SelectChoice(str(s.id), _("Participants of “%(session)s”", session=s.title))
        for s in event.sessions
        if validation.enrollable(s)
    ]
    return form


def _session(event: Event, form: MessageForm) -> Session | None:
    return next((s for s in event.sessions if str(s.id) == form.audience.data), None)


@bp.route("/events/<slug>/messages", methods=["GET", "POST"])
@requires(access.MANAGE)
def messages_page(event: Event) -> Response | str | tuple[str, int]:
    form = _form(event)
    sent = messages.sent(db.session, event)

    def compose(status: int = 200) -> tuple[str, int]:
        return render_template(
            "admin/messages.html", event=event, form=form, sent=sent, preview=None
        ), status

    busy.keep_form(lambda: compose()[0])
    if request.method == "GET":
        return compose()
    if not form.validate() or form.action.data == "edit":
        return compose(422 if form.errors else 200)
    session = _session(event, form)
    if form.action.data == "preview":
        try:
            messages.check(form.subject.data or "", form.body.data or "")
        except RuleError as exc:
            form[exc.field].errors = [exc.message]  # type: ignore[index]
            return compose(422)
        form.key.data = secrets.token_urlsafe(24)
        return render_template(
            "admin/messages.html",
            event=event,
            form=form,
            sent=sent,
            preview=messages.audience(db.session, event, session),
            session=session,
        ), 200
    outcome = perform(
        lambda: messages.send(
            db.session, current_user, event, form.subject.data or "", form.body.data or "",
            session, form.key.data or secrets.token_urlsafe(24), clock.now(),
        ),
        form,
    )  # fmt: skip
    if not outcome.ok or outcome.value is None:
        return compose(422)
    message, new = outcome.value
    if new:
        flash(
            ngettext(
                "Your message is on its way to %(num)d person.",
                "Your message is on its way to %(num)d people.",
                message.recipients,
            )
        )
    else:
        flash(_("This message was sent already; it was not sent again."))
    return redirect(url_for("admin.messages_page", slug=event.slug), code=303)
