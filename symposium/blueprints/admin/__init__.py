"""The organisers' back-office.

Every view declares what it needs with :func:`requires` (or :func:`public`); the
authorization test walks every ``admin.*`` route and fails on one that declares nothing.
One module per area: auth (sign-in, passwords), events (capacities), and so on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any, Generic, TypeVar

from flask import Blueprint, abort, flash, request
from flask_login import current_user, login_required
from sqlalchemy import select

from symposium.extensions import db, login_manager
from symposium.models import Event, Meeting, Session, User
from symposium.services.accounts import access
from symposium.services.backoffice import history
from symposium.services.checkin import attendance
from symposium.services.core.errors import RuleError

bp = Blueprint("admin", __name__, url_prefix="/admin")
# Statuses, reasons and kinds of mail in words: the back-office never shows their codes.
bp.add_app_template_filter(history.status_words)
bp.add_app_template_filter(history.change_reason)
bp.add_app_template_filter(history.mail_kind)


@login_manager.user_loader
def load_user(cookie_id: str) -> User | None:
    """The account of a session cookie ("<id>:<session token>", see ``User.get_id``), if
    that sign-in has not been ended since (sign-out, new password, role taken away)."""
    user_id, _, token = cookie_id.partition(":")
    # The cookie is signed, but parse it strictly all the same: "²".isdigit() is True.
    if not (user_id.isascii() and user_id.isdigit() and len(user_id) <= 18) or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.holds_session(token):
        return None
    return user


def session_or_404(event: Event, session_id: int) -> Session:
    """A session named in the URL, which must belong to the event named there too."""
    session = db.session.get(Session, session_id)
    if session is None or session.event_id != event.id:
        abort(404)
    return session


def asked_meeting(session: Session, now: datetime) -> Meeting | None:
    """The meeting of a group a page is for: ``?meeting=`` when it is this session's, else
    the current one (``attendance.chosen_meeting``); None for a session without meetings."""
    return attendance.chosen_meeting(session, request.args.get("meeting", type=int), now)


def public(view: Callable[..., Any]) -> Callable[..., Any]:
    """Reachable without signing in (sign-in and password reset only)."""
    view.permission = "public"  # type: ignore[attr-defined]
    return view


def requires(permission: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Sign-in, then load the event named in the URL (404 first), then check the role."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            event = None
            if "slug" in kwargs:
                slug = kwargs.pop("slug")
                event = db.session.scalars(select(Event).where(Event.slug == slug)).one_or_none()
                if event is None:
                    abort(404)
                kwargs["event"] = event
            if not access.can(current_user, permission, event):
                abort(403)
            return view(*args, **kwargs)

        wrapped.permission = permission  # type: ignore[attr-defined]
        return wrapped

    return decorate


T = TypeVar("T")


@dataclass
class Outcome(Generic[T]):
    """What :func:`perform` did: ``ok`` and the service's result, or the rule that refused."""

    ok: bool
    value: T | None = None
    error: RuleError | None = None


def show_error(form: Any, exc: RuleError) -> None:
    """A rule's refusal next to the field it names, else at the top of the form."""
    name = exc.field if exc.field and exc.field in form else None
    if name:
        form[name].errors = [*form[name].errors, str(exc.message)]
    else:
        form.form_errors.append(str(exc.message))


def perform(action: Callable[[], T], form: Any = None) -> Outcome[T]:
    """Run one back-office action: the service call, then commit; on a rule's refusal roll
    back (nothing half-done stays) and show why, next to the form's field or as a notice.

    The request is the transaction boundary: services flush, this commits.
    """
    try:
        value = action()
    except RuleError as exc:
        db.session.rollback()
        if form is not None:
            show_error(form, exc)
        else:
            flash(str(exc.message), "error")
        return Outcome(False, error=exc)
    db.session.commit()
    return Outcome(True, value)


from symposium.blueprints.admin import (  # noqa: E402  (routes register on bp)
    accreditation,
    auth,
    branding,
    certificates,
    dashboard,
    events,
    exports,
    messages,
    paper,
    participants,
    presence,
    privacy,
    referrals,
    users,
)

__all__ = [
    "Outcome",
    "accreditation",
    "auth",
    "bp",
    "branding",
    "certificates",
    "dashboard",
    "events",
    "exports",
    "messages",
    "paper",
    "participants",
    "perform",
    "presence",
    "privacy",
    "public",
    "referrals",
    "requires",
    "show_error",
    "users",
]
