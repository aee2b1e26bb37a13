"""Sign-in, sign-out and password reset."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField
from wtforms.validators import EqualTo, InputRequired, Length

from symposium import clock
from symposium.blueprints.admin import bp, perform, public, requires
from symposium.extensions import db, limiter
from symposium.services.accounts import access, passwords
from symposium.services.accreditation import overview
from symposium.services.backoffice import dashboard
from symposium.services.core.urls import same_site_path


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
            # Only a path on this site: never bounce a fresh session to another one.
            target = same_site_path(request.args.get("next")) or url_for("admin.home")
            return redirect(target, code=303)
        form.password.errors = [_("Unknown e-mail address or wrong password.")]
        return render_template("admin/login.html", form=form), 422
    return render_template("admin/login.html", form=form)


@bp.post("/logout")
@public
def logout() -> Response:
    if FlaskForm().validate():  # CSRF: nobody can sign someone out from another site
        if current_user.is_authenticated:
            # Every sign-in of the account ends, also a copy of this cookie elsewhere.
            perform(lambda: access.sign_out(db.session, current_user, clock.now()))
        logout_user()
    return redirect(url_for("admin.login"), code=303)


@bp.route("/password-reset", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
@public
def password_reset() -> Response | str:
    form = ResetRequestForm()
    if form.validate_on_submit():
        # The same work and the same answer whether or not the address has an account: the
        # mail worker looks the account up (and sends nothing for an unknown address).
        perform(
            lambda: access.request_password_link(
                db.session, form.email.data, "password_reset", str(get_locale()), clock.now()
            )
        )
        flash(_("If this address has an account, a link to set a new password is on its way."))
        return redirect(url_for("admin.login"), code=303)
    return render_template("admin/password_reset.html", form=form)


@bp.route("/password-reset/<token>", methods=["GET", "POST"])
@public
def password_reset_confirm(token: str) -> Response | str | tuple[str, int]:
    user = passwords.user_for_reset_token(
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
    managed = [e for e in events if access.can(current_user, access.MANAGE, e)]
    return render_template(
        "admin/home.html",
        events=events,
        counts=dashboard.event_counts(db.session, managed),  # the door's accounts see none
        deadlines=overview.deadlines_soon(db.session, managed, clock.now()),
        today=clock.now().date(),
        can_manage=lambda e: access.can(current_user, access.MANAGE, e),
        can_create=access.can(current_user, access.CREATE_EVENT),
        is_admin=access.is_admin(current_user),
    )
