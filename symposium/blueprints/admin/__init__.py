"""The organisers' back-office.

Every view declares what it needs with :func:`requires` (or :func:`public`); the
authorization test walks every ``admin.*`` route and fails on one that declares nothing.
One module per area: auth (sign-in, passwords), events (capacities), and so on.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort
from flask_login import current_user, login_required
from sqlalchemy import select

from symposium.extensions import db, login_manager
from symposium.models import Event, Session, User
from symposium.services.accounts import access

bp = Blueprint("admin", __name__, url_prefix="/admin")


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))


def session_or_404(event: Event, session_id: int) -> Session:
    """A session named in the URL, which must belong to the event named there too."""
    session = db.session.get(Session, session_id)
    if session is None or session.event_id != event.id:
        abort(404)
    return session


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


from symposium.blueprints.admin import (  # noqa: E402  (routes register on bp)
    auth,
    dashboard,
    events,
    exports,
    participants,
    users,
)

__all__ = [
    "auth",
    "bp",
    "dashboard",
    "events",
    "exports",
    "participants",
    "public",
    "requires",
    "users",
]
