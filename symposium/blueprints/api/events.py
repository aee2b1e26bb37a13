"""GET /api/v1/events/<slug>: the public programme with the places left per session."""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from symposium import clock
from symposium.blueprints.api import answer, bp, error, schemas
from symposium.extensions import db
from symposium.models import Session
from symposium.services.programme import public
from symposium.services.programme.rules import rules_for
from symposium.services.registration import places, validation


def _session(s: Session, left: dict[int, int | None]) -> schemas.Session:
    return schemas.Session(
        id=s.id,
        key=s.key,
        kind=s.kind.value,
        title=s.title,
        round_id=s.round_id,
        starts_at=s.effective_starts_at,
        ends_at=s.effective_ends_at,
        room=s.room,
        speakers=s.speakers,
        themes=[t.code for t in s.themes],
        professions=[p.code for p in s.professions],
        quotas={q.profession.code: q.places for q in s.quotas},
        cancelled=s.is_cancelled,
        capacity=s.capacity,
        places_left=left.get(s.id),
        hours=float(s.hours) if s.hours is not None else None,
        meetings=[
            schemas.Meeting(starts_at=m.starts_at, ends_at=m.ends_at, room=m.room or s.room)
            for m in s.meetings
        ],
    )


@bp.get("/events/<slug>")
def event(slug: str) -> ResponseReturnValue:
    found = public.public_event(db.session, slug)
    if found is None:
        return error(404, "event_not_found", "No such event.")
    left = places.places_left(db.session, found.sessions)
    asked = rules_for(db.session, found).professions  # the numbers this event asks
    return answer(
        schemas.Event(
            slug=found.slug,
            title=found.title,
            subtitle=found.subtitle,
            status=found.status.value,
            timezone=found.timezone,
            starts_at=found.starts_at,
            ends_at=found.ends_at,
            venue=found.venue,
            address=found.address,
            registration=schemas.RegistrationPeriod(
                open=validation.is_open(found, clock.now()),
                opens_at=found.registration_opens_at,
                closes_at=found.registration_closes_at,
            ),
            professions=[
                schemas.Profession(
                    code=p.code,
                    name={"nl": p.name_nl, "en": p.name_en},
                    registers=[
                        schemas.Register(
                            code=r.code,
                            identifier=r.identifier_name_en,
                            pattern=r.pattern.pattern if r.pattern else None,
                        )
                        for r in asked[p.code].registers
                    ],
                )
                for p in public.admitted_professions(db.session, found)
            ],
            rounds=[
                schemas.Round(
                    id=r.id,
                    key=r.key,
                    title=r.title,
                    starts_at=r.starts_at,
                    ends_at=r.ends_at,
                    sessions=[_session(s, left) for s in r.sessions],
                )
                for r in found.rounds
            ],
            sessions=[_session(s, left) for s in found.sessions],
        )
    )
