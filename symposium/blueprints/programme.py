"""Public programme pages: upcoming events, an event's timeline, one session."""

from __future__ import annotations

import re

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from symposium import clock, page_cache
from symposium.extensions import db
from symposium.filters import localised_name
from symposium.models import Event, Session
from symposium.services.accreditation import points
from symposium.services.core.urls import external_url
from symposium.services.privacy import statement
from symposium.services.programme import branding, calendar, groups, public
from symposium.services.registration import availability, places, validation

bp = Blueprint("programme", __name__)


class ProgrammeFilterForm(FlaskForm):
    """GET filter on the programme; it changes nothing, so it carries no CSRF token."""

    class Meta:
        csrf = False

    theme = SelectField(_l("Theme"), choices=[], default="")
    profession = SelectField(_l("Profession"), choices=[], default="")


def _load_event(slug: str) -> Event:
    event = public.public_event(db.session, slug)
    if event is None:
        abort(404)
    return event


@bp.get("/")
def index() -> str:
    events = public.upcoming_events(db.session, clock.now())
    return render_template("programme/index.html", events=events)


FILTER_ARGS = frozenset({"theme", "profession", "lang"})


@bp.get("/events/<slug>/")
def event(slug: str) -> Response:
    """The programme, rendered once per programme stamp, language and filter (page_cache)."""
    head = public.public_event_head(db.session, slug)
    if head is None:
        abort(404)
    # The state, not just open or not: a page saying when registration opens must not be
    # served again once it has closed.
    state = validation.registration_state(head, clock.now())
    key = ("event", head.id, head.programme_stamp, str(get_locale()), state)
    return page_cache.serve(key, lambda: _render_event(slug, state), FILTER_ARGS)


def _render_event(slug: str, state: str) -> str:
    event = _load_event(slug)
    themes = public.event_themes(event)
    professions = public.admitted_professions(db.session, event)
    form = ProgrammeFilterForm(request.args)
    form.theme.choices = [SelectChoice("", _l("All themes"))] + [
        SelectChoice(t.code, localised_name(t)) for t in themes
    ]
    form.profession.choices = [SelectChoice("", _l("All professions"))] + [
        SelectChoice(p.code, localised_name(p)) for p in professions
    ]
    theme = profession = None
    if form.validate():
        theme = next((t for t in themes if t.code == form.theme.data), None)
        profession = next((p for p in professions if p.code == form.profession.data), None)
    sessions = public.filter_sessions(event.sessions, theme, profession)
    places_left = places.places_left(db.session, event.sessions)
    series = groups.series_programme(event, sessions, places_left)
    return render_template(
        "programme/event.html",
        event=event,
        form=form,
        filtered=theme is not None or profession is not None,
        days=public.timeline(sessions, event.timezone) if series is None else [],
        series=series,
        places_left=places_left,
        # With a profession chosen, each session says what is left for that profession.
        profession=profession,
        places_for=availability.places_for(db.session, sessions, profession.id)
        if profession
        else {},
        registration_open=state == validation.OPEN,
        registration_state=state,
        accredited=points.session_points(db.session, event),
    )


def _session(event: Event, session_id: int) -> Session:
    found = next((s for s in event.sessions if s.id == session_id), None)
    if found is None:
        abort(404)
    return found


def _ics(event: Event, sessions: list[Session], filename: str) -> Response:
    body = calendar.programme_calendar(
        event,
        sessions,
        now=clock.now(),
        url_for_session=lambda s: external_url(
            "programme.session", slug=event.slug, session_id=s.id
        ),
        language=str(get_locale()),
    )
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/events/<slug>/calendar.ics")
def event_calendar(slug: str) -> Response:
    event = _load_event(slug)
    return _ics(event, event.sessions, f"{event.slug}.ics")


@bp.get("/events/<slug>/sessions/<int:session_id>.ics")
def session_calendar(slug: str, session_id: int) -> Response:
    event = _load_event(slug)
    return _ics(event, [_session(event, session_id)], f"{event.slug}-{session_id}.ics")


@bp.get("/events/<slug>/sessions/<int:session_id>")
def session(slug: str, session_id: int) -> str:
    event = _load_event(slug)
    found = _session(event, session_id)
    return render_template(
        "programme/session.html",
        event=event,
        session=found,
        places_left=places.places_left(db.session, [found]),
        registration_open=validation.is_open(event, clock.now()),
        accredited=points.session_points(db.session, event).get(found.id, []),
    )


def _retention() -> dict[str, int]:
    """The periods the standard statement names (privacy.retention applies them)."""
    config = current_app.config
    return {
        "retention_days": config["RETENTION_DAYS"],
        "accreditation_days": config["ACCREDITATION_RETENTION_DAYS"],
        "certificate_days": config["CERTIFICATE_RETENTION_DAYS"],
    }


YEAR = 365 * 24 * 3600
HEX = re.compile(r"[0-9a-f]{6}")


@bp.get("/events/<slug>/logo")
def event_logo(slug: str) -> Response:
    """The event's logo. Pages link it as ``?v=<digest>``: that address never changes
    content, so browsers keep it a year; without it (or with an old one) it is kept for a few
    minutes and checked again with its ETag."""
    logo = branding.public_logo(db.session, slug)
    if logo is None:
        abort(404)
    response = Response(mimetype=logo.content_type)
    response.set_etag(logo.digest)
    response.cache_control.public = True
    if request.args.get("v") == logo.digest[:16]:
        response.cache_control.max_age = YEAR
        response.cache_control.immutable = True
    else:
        response.cache_control.max_age = 300
    response.make_conditional(request)
    if response.status_code != 304:
        response.set_data(logo.data)
    return response


@bp.get("/accent/<colour>.css")
def accent_css(colour: str) -> Response:
    """``:root { --accent: #<colour>; }``: the same for every event with that colour, so
    it is cached a year (the event's page links the colour it has now)."""
    if not HEX.fullmatch(colour):
        abort(404)
    response = Response(branding.accent_css(f"#{colour}"), mimetype="text/css")
    response.cache_control.public = True
    response.cache_control.max_age = YEAR
    response.cache_control.immutable = True
    return response


@bp.get("/favicon.ico")
def favicon() -> Response:
    """Browsers and feed readers that ask for the icon where it used to be."""
    return redirect(url_for("static", filename="favicon-32.png"), code=301)


@bp.get("/privacy")
def privacy() -> str:
    """The privacy statement: what is kept, why, how long (privacy.retention), your rights."""
    return render_template("programme/privacy.html", **_retention())


class PrivacyVersionForm(FlaskForm):
    """?version= on an event's statement: an earlier version someone agreed to."""

    class Meta:
        csrf = False

    version = StringField(validators=[Optional(), Length(max=20)])


@bp.get("/events/<slug>/privacy")
def event_privacy(slug: str) -> str:
    """The event's privacy statement: its organiser as controller, their addition and the
    standard text, in the version asked for (what a registrant agreed to) or the current."""
    event = _load_event(slug)
    form = PrivacyVersionForm(request.args)
    asked = form.version.data if form.validate() else None
    found = statement.statement(db.session, event, asked or None)
    if found is None:
        abort(404)
    return render_template(
        "programme/event_privacy.html",
        event=event,
        statement=found,
        current=statement.version_of(event),
        language=str(get_locale()),
        **_retention(),
    )
