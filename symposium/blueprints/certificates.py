"""The public check of a certificate: ``/certificates/<code>`` (what the QR code opens) and a
form to type a code. The check is rate-limited per client address, with the API's twin."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import StringField
from wtforms.validators import InputRequired, Length

from symposium.extensions import db, limiter
from symposium.services.certificates import codes, verification

bp = Blueprint("certificates", __name__, url_prefix="/certificates")


def verification_limit() -> str:
    return current_app.config["VERIFICATION_RATE_LIMIT"]


# One bucket per address for the page, the form and the API together.
verification_rate_limit = limiter.shared_limit(verification_limit, scope="verification")


class LookupForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that changes nothing

    code = StringField(
        _l("Verification code"),
        description=_l("20 letters and digits, as printed under the QR code."),
        validators=[InputRequired(), Length(max=60)],
    )


@bp.get("")
def lookup() -> Response | str | tuple[str, int]:
    """Type a code from a certificate; a well-formed one goes to its page (which counts
    against the rate limit: this form reads nothing)."""
    if "code" not in request.args:  # a visit (or ?lang=en), not a lookup
        return render_template("certificates/lookup.html", form=LookupForm(formdata=None))
    form = LookupForm(request.args)
    if form.validate():
        code = codes.parse_code(form.code.data or "")
        if code is not None:
            return redirect(url_for("certificates.verify", code=codes.format_code(code)), 303)
        form.code.errors = [
            _l("A code has 20 letters and digits, such as K7QM3-XPA9B-4RT0C-VW2HN.")
        ]
    return render_template("certificates/lookup.html", form=form), 422


@bp.get("/<code>")
@verification_rate_limit
def verify(code: str) -> str | tuple[str, int]:
    """Valid, revoked (and by what), or unknown (404)."""
    verdict = verification.verify(db.session, code)
    if verdict is None:
        return render_template("certificates/unknown.html", code=code[:60]), 404
    return render_template("certificates/verify.html", verdict=verdict)
