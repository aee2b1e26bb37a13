"""Accounts (admins only): who may work on which event."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response
from wtforms import EmailField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from symposium import clock
from symposium.blueprints.admin import bp, perform, requires
from symposium.extensions import db
from symposium.input_guard import SingleLine
from symposium.models import Event, Membership, Role, User
from symposium.services.accounts import access


class UserForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[InputRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[SingleLine(), Length(max=200)])
    role = SelectField(
        _l("Role"),
        choices=[
            SelectChoice("organiser", _l("Organiser")),
            SelectChoice("door", _l("Door (check-in only)")),
            SelectChoice("admin", _l("Admin (everything)")),
        ],
    )
    event = SelectField(_l("Event"), choices=[])


class ActionForm(FlaskForm):
    pass


def _form() -> UserForm:
    form = UserForm()
    form.event.choices = [SelectChoice("", _l("All events"))] + [
        SelectChoice(e.slug, e.title)
        for e in db.session.scalars(select(Event).order_by(Event.title))
    ]
    return form


@bp.route("/users", methods=["GET", "POST"])
@requires(access.USERS)
def users() -> Response | str | tuple[str, int]:
    form = _form()
    if form.validate_on_submit():
        now = clock.now()
        event = db.session.scalars(select(Event).where(Event.slug == form.event.data)).first()

        def grant() -> tuple[User, str | None]:
            user, generated = access.grant_role(
                db.session,
                current_user,
                form.email.data,
                Role(form.role.data),
                now,
                event=event,
                name=(form.name.data or "").strip(),
            )
            if generated:  # a new account sets its own password through a one-time link
                access.request_password_link(
                    db.session, user.email, "account_created", str(get_locale()), now
                )
            return user, generated

        done = perform(grant, form)
        if done.ok and done.value is not None:
            flash(_("%(email)s now has that role.", email=done.value[0].email))
            return redirect(url_for("admin.users"), code=303)
    accounts = db.session.scalars(
        select(User).options(selectinload(User.memberships)).order_by(User.email)
    ).all()
    status = 422 if form.errors else 200
    page = render_template(
        "admin/users.html", form=form, accounts=accounts, action_form=ActionForm()
    )
    return page, status


@bp.post("/users/roles/<int:membership_id>/revoke")
@requires(access.USERS)
def revoke_role(membership_id: int) -> Response:
    membership = db.session.get(Membership, membership_id)
    if membership is None:
        abort(404)
    if not ActionForm().validate():
        abort(400)
    if perform(lambda: access.revoke_role(db.session, current_user, membership, clock.now())).ok:
        flash(_("The role has been taken away."))
    return redirect(url_for("admin.users"), code=303)
