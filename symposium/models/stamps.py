"""Keep ``Event.programme_stamp`` honest: any change to what a programme shows gives a new one.

Caches of the programme (the rules a registration is checked against, the rendered public
page) live in each worker process and are keyed by (event id, stamp); a worker reads the
event's current stamp with every request, so a change committed by any process is seen by
all of them at once. Hooking the flush makes this one rule instead of a line in every
service that edits the programme (event files, back-office forms, capacity changes,
cancellations), where a forgotten line would mean a stale cache.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import update
from sqlalchemy.orm import Session as DbSession

from symposium.models.accreditation import Accreditation, AccreditedSession
from symposium.models.catalogue import Profession, Register, Theme
from symposium.models.event import (
    Event,
    EventLogo,
    Meeting,
    Round,
    Session,
    SessionQuota,
    new_stamp,
)

CATALOGUE = Profession | Register | Theme
# Accreditation shows in the programme (points per session) and decides the form's numbers;
# the logo is in the page's header.
PROGRAMME = (
    Event | EventLogo | Round | Session | SessionQuota | Meeting | Accreditation | AccreditedSession
)


def _event_id(db: DbSession, obj: Any) -> int | None:
    """The event a programme object belongs to (None when that event is new itself)."""
    if isinstance(obj, EventLogo):
        return obj.event_id
    if isinstance(obj, Round | Session | Accreditation):
        return obj.event_id if obj.event_id is not None else getattr(obj.event, "id", None)
    if isinstance(obj, AccreditedSession):
        accreditation = obj.accreditation
        if accreditation is None and obj.accreditation_id is not None:
            accreditation = db.get(Accreditation, obj.accreditation_id)
        return None if accreditation is None else _event_id(db, accreditation)
    if isinstance(obj, SessionQuota | Meeting):
        session = obj.session
        if session is None and obj.session_id is not None:
            session = db.get(Session, obj.session_id)
        return None if session is None else _event_id(db, session)
    return None


@sa_event.listens_for(DbSession, "before_flush")
def restamp(db: DbSession, flush_context: Any, instances: Any) -> None:
    """Give every event whose programme this flush changes a new stamp."""
    events: set[int] = set()
    catalogue_changed = False
    # Each of these properties builds a new set: take them once (a flush may hold thousands
    # of enrolments, e.g. a renumbered waiting list, and none of them concern the programme).
    dirty, new, deleted = db.dirty, db.new, db.deleted
    for obj in chain(dirty, new, deleted):
        if not isinstance(obj, PROGRAMME | CATALOGUE):
            continue
        if obj in dirty and not db.is_modified(obj):
            continue
        if isinstance(obj, Event):
            if obj not in new and obj not in deleted and obj.id is not None:
                events.add(obj.id)
        elif isinstance(obj, CATALOGUE):
            catalogue_changed = True
        else:
            event_id = _event_id(db, obj)
            if event_id is not None:
                events.add(event_id)
    if catalogue_changed:  # names and registers show in every programme: rare, so all events
        db.connection().execute(update(Event.__table__).values(programme_stamp=new_stamp()))
        for obj in list(db.identity_map.values()):
            if isinstance(obj, Event) and obj not in new:
                db.expire(obj, ["programme_stamp"])
        events.clear()
    for event_id in events:
        found = db.get(Event, event_id)
        if found is not None and found not in deleted:
            found.programme_stamp = new_stamp()
