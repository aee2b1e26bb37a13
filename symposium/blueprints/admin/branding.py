"""The event's logo and accent colour in the back-office: the fields of the event's edit
form (``events.event_edit`` saves them with the rest, through ``programme.branding``) and
the logo on file, shown to organisers whatever the event's status."""

from __future__ import annotations

from typing import Any

from flask import Response, abort
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileSize
from wtforms import BooleanField
from wtforms.fields import ColorField

from symposium.blueprints.admin import bp, requires
from symposium.models import Event
from symposium.services.accounts import access
from symposium.services.programme import branding

NOT_IMAGE = _l("Upload the logo as a PNG or JPEG image.")
TOO_LARGE = _l("The logo is larger than 500 kB or 25 megapixels.")


class BrandingFields:
    """Mixed into the event form. The name and size are checked here for a quick answer;
    the service checks the file's contents (a renamed file is caught there)."""

    logo = FileField(
        _l("Logo"),
        validators=[
            FileAllowed(["png", "jpg", "jpeg"], NOT_IMAGE),
            FileSize(branding.MAX_LOGO, message=TOO_LARGE),
        ],
        description=_l(
            "A PNG or JPEG of at most 500 kB, for the event's pages, ticket and certificates."
        ),
    )
    remove_logo = BooleanField(_l("Remove the logo"))
    accent_colour = ColorField(
        _l("Accent colour"),
        description=_l(
            "For the header bar, buttons and links of the event's pages and its PDFs. White "
            "text on it must stay readable: a contrast of at least 4.5:1."
        ),
    )
    default_accent = BooleanField(_l("Use the default blue instead of the colour above"))


def initial(event: Event) -> dict[str, Any]:
    """The branding fields as the event has them (no file: a file input starts empty)."""
    return {
        "logo": None,
        "remove_logo": False,
        "accent_colour": event.accent_colour or branding.DEFAULT_ACCENT,
        "default_accent": False,  # a choice to go back to the default, not a starting state
    }


def chosen(form: Any) -> dict[str, Any]:
    """The form's branding as ``branding.save`` takes it; the upload read up to one byte
    over the limit, so a larger one is refused without reading it all."""
    upload = form.logo.data
    return {
        # The default blue left as it was, or chosen again, is no colour of the event's own.
        "accent_colour": ""
        if form.default_accent.data
        or (form.accent_colour.data or "").lower() == branding.DEFAULT_ACCENT.lower()
        else form.accent_colour.data,
        "logo": upload.read(branding.MAX_LOGO + 1) if upload else None,
        "remove_logo": bool(form.remove_logo.data),
    }


@bp.get("/events/<slug>/logo")
@requires(access.MANAGE)
def event_logo(event: Event) -> Response:
    """The logo on file (the public one is served only for a published event)."""
    if event.logo is None:
        abort(404)
    return Response(event.logo.data, mimetype=event.logo.content_type)
