"""Sign-in, sign-out and password reset."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField
from wtforms.validators import EqualTo, InputRequired, Length

from symposium import clock
from symposium.blueprints.admin import bp, perform, public, requires
from symposium.extensions import db, limiter
from symposium.models import User
from symposium.services.accounts import access
from symposium.services.mail import outbox


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[InputRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[InputRequired(), Length(max=200)])


class ResetRequestForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[InputRequired(), Length(max=254)])


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[InputRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[InputRequired(), EqualTo("password", _l("The passwords differ."))],
    )


def login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
@public
def login() -> Response | str | tuple[str, int]:
    form = LoginForm()
    if form.validate_on_submit():
        user = access.authenticate(db.session, form.email.data, form.password.data, clock.now())
        if user is not None:
            db.session.commit()
            login_user(user)
            target = request.args.get("next", "")
            # Only local paths: never bounce a fresh session to another site.
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("admin.home")
            return redirect(target, code=303)
        form.password.errors = [_("Unknown e-mail address or wrong password.")]
        return render_template("admin/login.html", form=form), 422
    return render_template("admin/login.html", form=form)


@bp.post("/logout")
@public
def logout() -> Response:
    if FlaskForm().validate():  # CSRF: nobody can sign someone out from another site
        logout_user()
    return redirect(url_for("admin.login"), code=303)


def queue_password_link(user: User, kind: str, subject: str, now: datetime) -> None:
    """Mail ``user`` a one-time link to choose a password (``mail/<kind>.txt`` explains why)."""
    token = access.reset_token(user, current_app.config["SECRET_KEY"], now)
    link = url_for("admin.password_reset_confirm", token=token, _external=True)
    body = render_template(f"mail/{kind}.txt", user=user, link=link)
    db.session.add(
        outbox.compose(
            to_address=user.email,
            language="nl",
            kind=kind,
            subject=subject,
            body=body,
            now=now,
            links=[link],
        )
    )


@bp.route("/password-reset", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
@public
def password_reset() -> Response | str:
    form = ResetRequestForm()
    if form.validate_on_submit():
        address = form.email.data.strip().lower()
        user = db.session.scalars(select(User).where(User.email == address)).one_or_none()
        if user is not None and user.active:
            queue_password_link(
                user, "password_reset", _("Set a new password for symposium"), clock.now()
            )
            db.session.commit()
        # The same answer whether or not the address has an account.
        flash(_("If this address has an account, a link to set a new password is on its way."))
        return redirect(url_for("admin.login"), code=303)
    return render_template("admin/password_reset.html", form=form)


@bp.route("/password-reset/<token>", methods=["GET", "POST"])
@public
def password_reset_confirm(token: str) -> Response | str | tuple[str, int]:
    user = access.user_for_reset_token(
        db.session, token, current_app.config["SECRET_KEY"], clock.now()
    )
    if user is None:
        return render_template("admin/reset_invalid.html"), 404
    form = NewPasswordForm()
    if form.validate_on_submit():
        done = perform(
            lambda: access.set_password(db.session, user, form.password.data, clock.now()), form
        )
        if done.ok:
            flash(_("Your new password is set; sign in with it."))
            return redirect(url_for("admin.login"), code=303)
    status = 422 if form.errors or form.form_errors else 200
    return render_template("admin/password_new.html", form=form), status


@bp.get("/")
@requires(access.SIGNED_IN)
def home() -> str:
    events = access.visible_events(db.session, current_user)
    return render_template(
        "admin/home.html",
        events=events,
        can_manage=lambda e: access.can(current_user, access.MANAGE, e),
        can_create=access.can(current_user, access.CREATE_EVENT),
        is_admin=access.is_admin(current_user),
    )
