"""Paper at the door: a session's sign-in sheet (PDF) and entering its ticks afterwards,
and the name badges for the registration desk (``services/checkin/sheets.py``, ``badges.py``).
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import RadioField, SelectField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from symposium import busy, clock
from symposium.blueprints.admin import asked_meeting, bp, perform, requires, session_or_404
from symposium.blueprints.admin.exports import download, filename
from symposium.extensions import db
from symposium.models import Event
from symposium.services.accounts import access
from symposium.services.checkin import attendance, badges, sheets

LETTER_CHOICES = [SelectChoice(letter, letter) for letter in badges.LETTERS]


class BadgesForm(FlaskForm):
    """Which badges to print: a GET that changes nothing, so no CSRF token."""

    class Meta:
        csrf = False

    layout = RadioField(
        _l("Layout"),
        choices=[
            SelectChoice(badges.Layout.A6.value, _l("A6 cards, one per page")),
            SelectChoice(
                badges.Layout.LABELS.value, _l("A4 label sheets, 8 labels of 105 × 74 mm")
            ),
        ],
        default=badges.Layout.A6.value,
    )
    first = SelectField(
        _l("Surnames from"), choices=[SelectChoice(c, c) for c in badges.LETTERS], default="A"
    )
    last = SelectField(_l("to"), choices=[SelectChoice(c, c) for c in badges.LETTERS], default="Z")

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if valid and self.first.data > self.last.data:
            self.last.errors = [_l("The last letter comes before the first.")]
            valid = False
        return valid


class PaperForm(FlaskForm):
    """The ticks of one sheet: the people expected and not yet checked in."""

    present = SelectMultipleField(
        _l("Present according to the sheet"),
        coerce=int,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        invalid_choice_message=_l(
            "Someone ticked is not expected here, or was checked in meanwhile: reload the "
            "page and tick again."
        ),
    )


@bp.get("/events/<slug>/sessions/<int:session_id>/sign-in-sheet.pdf")
@requires(access.MANAGE)
def sign_in_sheet(event: Event, session_id: int) -> Response:
    """The printable sign-in sheet of a session, by surname, with blank rows."""
    session = session_or_404(event, session_id)
    now = clock.now()
    meeting = asked_meeting(session, now)
    body = sheets.sign_in_sheet(db.session, session, now, str(get_locale()), meeting)
    parts = (session.key, f"meeting-{meeting.key}") if meeting is not None else (session.key,)
    name = filename(event.slug, *parts, "sign-in-sheet", ext="pdf")
    return download(body, "application/pdf", name)


@bp.route("/events/<slug>/sessions/<int:session_id>/paper", methods=["GET", "POST"])
@requires(access.MANAGE)
def paper(event: Event, session_id: int) -> Response | str | tuple[str, int]:
    """Enter a paper sheet (of a group's meeting: ``?meeting=``): tick the names, one submit
    (post, redirect, get)."""
    session = session_or_404(event, session_id)
    meeting = asked_meeting(session, clock.now())
    people = sheets.expected_people(db.session, session)
    present = {
        p.registration_id: p for p in attendance.session_presences(db.session, session, meeting)
    }
    form = PaperForm()
    form.present.choices = [(r.id, r.name) for r in people if r.id not in present]
    here = {"meeting": meeting.id} if meeting is not None else {}

    def page() -> str:
        return render_template(
            "admin/paper.html", event=event, session=session, form=form, people=people,
            present=present, register_numbers=sheets.register_numbers, meeting=meeting,
            here=here,
        )  # fmt: skip

    if request.method == "GET":
        return page()
    if not form.validate():
        if form.csrf_token.errors:
            abort(400)
        return page(), 422
    busy.keep_form(page)
    ticked = list(form.present.data or [])
    done = perform(
        lambda: sheets.enter_paper(db.session, current_user, session, ticked, clock.now(), meeting),
        form,
    )
    if not done.ok:
        return page(), 403 if done.error and done.error.status == 403 else 422
    _report(done.value)
    return redirect(
        url_for("admin.paper", slug=event.slug, session_id=session.id, **here), code=303
    )


@bp.get("/events/<slug>/badges")
@requires(access.MANAGE)
def badges_page(event: Event) -> str:
    """Choose the badges to print: layout and a letter range of surnames."""
    form = BadgesForm(formdata=None)
    return render_template("admin/badges.html", event=event, form=form, count=None)


@bp.get("/events/<slug>/badges.pdf")
@requires(access.MANAGE)
def badges_pdf(event: Event) -> Response | tuple[str, int]:
    """The name badges as PDF, or the form again with what is wrong (422)."""
    form = BadgesForm(request.args)
    if not form.validate():
        return render_template("admin/badges.html", event=event, form=form, count=None), 422
    first, last = form.first.data, form.last.data
    people = badges.badge_people(db.session, event, first, last)
    if not people:
        return render_template("admin/badges.html", event=event, form=form, count=0), 422
    layout = badges.Layout(form.layout.data)
    body = badges.badges_pdf(event, people, layout, clock.now(), str(get_locale()))
    name = filename(event.slug, "badges", layout.value, f"{first}-{last}", ext="pdf")
    return download(body, "application/pdf", name)


def _report(entry: Any) -> None:
    if entry.recorded:
        flash(
            ngettext("%(num)d presence entered from paper.",
                     "%(num)d presences entered from paper.", len(entry.recorded)),
            "success",
        )  # fmt: skip
    elif not entry.refused:
        flash(_l("Nothing new to enter: the ticked people were checked in already."), "success")
    for person, reason in entry.refused:
        flash(_l("%(name)s was not entered: %(reason)s", name=person.name, reason=reason), "error")
