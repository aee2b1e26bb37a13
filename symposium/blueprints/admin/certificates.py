"""Certificates in the back-office: the settings (rule, signatory, signature), everyone's
standing with the reason, issuing all of them, preview, re-issue and revoke, and the
combined PDF and ZIP (``services/certificates``)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.wrappers import Response
from wtforms import BooleanField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from symposium import clock
from symposium.blueprints.admin import bp, perform, requires
from symposium.blueprints.admin.exports import download
from symposium.extensions import db
from symposium.input_guard import whole_number
from symposium.models import Certificate, CertificateRule, Event, Registration
from symposium.services.accounts import access
from symposium.services.certificates import codes, design, document, issuing
from symposium.services.core.errors import RuleError

# Certificates per download of them all: 500 take about seven seconds to build.
PART = 500


class DesignForm(FlaskForm):
    rule = RadioField(
        _l("Who gets a certificate"),
        choices=[
            SelectChoice(
                CertificateRule.POINTS.value, _l("everyone who earned accreditation points")
            ),
            SelectChoice(
                CertificateRule.ATTENDANCE.value,
                _l("everyone who attended at least one session or meeting"),
            ),
            SelectChoice(CertificateRule.OFF.value, _l("no one: this event issues none")),
        ],
        validators=[InputRequired()],
    )
    signatory_name = StringField(
        _l("Signed by"), description=_l("E.g. the chair of the programme committee."),
        validators=[Length(max=200)],
    )  # fmt: skip
    signatory_role = StringField(_l("Their role"), validators=[Length(max=200)])
    signature = FileField(
        _l("Signature (image)"),
        description=_l("A PNG or JPEG of at most 900 kB, on a white or transparent background."),
    )
    remove_signature = BooleanField(_l("Remove the signature"))


class IssueForm(FlaskForm):
    """Issue everyone's certificate and mail it (one click; twice issues nothing new)."""


class ReissueForm(FlaskForm):
    """Replace one certificate after a correction."""


class RevokeForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason"),
        description=_l("Shown to no one but the organisers; the page only says it was revoked."),
        validators=[InputRequired(_l("Write down why.")), Length(max=1000)],
    )


def _certificate(event: Event, certificate_id: int) -> Certificate:
    found = db.session.get(Certificate, certificate_id)
    if found is None or found.event_id != event.id:
        abort(404)
    return found


def _page(event: Event, design_form: DesignForm | None = None) -> str:
    found = design.design_of(db.session, event)
    standings = issuing.standings(db.session, event)
    every = issuing.issued(db.session, event, valid_only=False)
    in_part = {(c.serial - 1) // PART + 1 for c in every if c.is_valid}
    form = design_form or DesignForm(
        formdata=None,
        data={"rule": found.rule.value, "signatory_name": found.signatory_name,
              "signatory_role": found.signatory_role},
    )  # fmt: skip
    return render_template(
        "admin/certificates.html",
        event=event,
        form=form,
        design=found,
        standings=standings,
        to_issue=[
            s for s in standings if s.eligible and s.certificate is None and s.withdrawn is None
        ],
        issued=[s for s in standings if s.certificate is not None],
        changed=[s for s in standings if s.changed],
        revoked=every,
        parts=[(n, (n - 1) * PART + 1, n * PART) for n in sorted(in_part)],
        issue_form=IssueForm(),
        reissue_form=ReissueForm(),
        format_code=codes.format_code,
    )


@bp.get("/events/<slug>/certificates")
@requires(access.MANAGE)
def certificates(event: Event) -> str:
    """Everyone's standing, what issuing would do, and the settings."""
    return _page(event)


@bp.post("/events/<slug>/certificates/settings")
@requires(access.MANAGE)
def certificates_settings(event: Event) -> Response | tuple[str, int]:
    form = DesignForm()
    if form.validate_on_submit():
        upload = form.signature.data
        data = upload.read(design.MAX_UPLOAD + 1) if upload else None
        done = perform(
            lambda: design.save(
                db.session, current_user, event, rule=CertificateRule(form.rule.data),
                signatory_name=form.signatory_name.data or "",
                signatory_role=form.signatory_role.data or "",
                signature=data or None, remove_signature=bool(form.remove_signature.data),
                now=clock.now(),
            ),
            form,
        )  # fmt: skip
        if done.ok:
            flash(str(_l("The certificate settings are saved.")), "success")
            return redirect(url_for("admin.certificates", slug=event.slug), code=303)
    return _page(event, form), 422


@bp.post("/events/<slug>/certificates/issue")
@requires(access.MANAGE)
def certificates_issue(event: Event) -> Response:
    """Issue and mail every certificate not issued yet."""
    if not IssueForm().validate():
        abort(400)
    done = perform(lambda: issuing.issue_all(db.session, current_user, event, clock.now()))
    if done.ok and done.value is not None:
        count = len(done.value.issued)
        message = (
            ngettext("%(num)d certificate issued; it is being mailed.",
                     "%(num)d certificates issued; they are being mailed.", count)
            if count else str(_l("Nothing to issue: everyone who earned one has a certificate."))
        )  # fmt: skip
        flash(message, "success")
    return redirect(url_for("admin.certificates", slug=event.slug), code=303)


@bp.get("/events/<slug>/certificates/preview/<int:registration_id>.pdf")
@requires(access.MANAGE)
def certificate_preview(event: Event, registration_id: int) -> Response:
    """What this person's certificate would say now, marked as a preview."""
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.event_id != event.id:
        abort(404)
    now = clock.now()
    try:
        found = issuing.preview(db.session, registration, now)
    except RuleError:  # cancelled without a certificate: nothing to preview
        abort(404)
    body = document.pdf(found, design.design_of(db.session, event), preview=True, now=now)
    return download(body, "application/pdf", f"preview-{registration.id}.pdf", inline=True)


@bp.get("/events/<slug>/certificates/<int:certificate_id>.pdf")
@requires(access.MANAGE)
def certificate_pdf(event: Event, certificate_id: int) -> Response:
    found = _certificate(event, certificate_id)
    body = document.pdf(found, design.design_of(db.session, event))
    return download(body, "application/pdf", document.filename(found), inline=True)


@bp.get("/events/<slug>/certificates/all.<fmt>")
@requires(access.MANAGE)
def certificates_all(event: Event, fmt: str) -> Response:
    """Every valid certificate: one PDF for printing, or a ZIP of single PDFs; a big event
    in parts of :data:`PART` numbers (``?part=2``: numbers 501–1000), each built in seconds,
    not minutes, and the same certificates whatever is revoked or issued meanwhile."""
    if fmt not in ("pdf", "zip"):
        abort(404)
    found = issuing.issued(db.session, event)
    if not found:
        flash(str(_l("No certificates have been issued yet.")), "error")
        return redirect(url_for("admin.certificates", slug=event.slug), code=303)
    part = whole_number(request.args.get("part", "1"))
    many = found[-1].serial > PART
    found = [c for c in found if part is not None and (c.serial - 1) // PART + 1 == part]
    if not found:
        abort(404)
    name = f"{event.slug}-certificates" + (f"-{part}" if many else "")
    designs = {event.id: design.design_of(db.session, event)}
    if fmt == "pdf":
        return download(document.combined(found, designs), "application/pdf", f"{name}.pdf")
    return download(document.zipped(found, designs), "application/zip", f"{name}.zip")


@bp.post("/events/<slug>/certificates/<int:certificate_id>/reissue")
@requires(access.MANAGE)
def certificate_reissue(event: Event, certificate_id: int) -> Response:
    """Revoke and replace one certificate with what it would say now; mailed again."""
    found = _certificate(event, certificate_id)
    if not ReissueForm().validate():
        abort(400)
    done = perform(lambda: issuing.reissue(db.session, current_user, found, clock.now()))
    if done.ok and done.value is not None:
        flash(str(_l("Certificate %(old)s is replaced by %(new)s, which is being mailed.",
                     old=found.number, new=done.value.number)), "success")  # fmt: skip
    return redirect(url_for("admin.certificates", slug=event.slug) + "#issued", code=303)


@bp.route("/events/<slug>/certificates/<int:certificate_id>/revoke", methods=["GET", "POST"])
@requires(access.MANAGE)
def certificate_revoke(event: Event, certificate_id: int) -> Response | str | tuple[str, int]:
    """Withdraw one certificate, with the reason (asked first, without JavaScript)."""
    found = _certificate(event, certificate_id)
    form = RevokeForm()
    if request.method == "POST" and form.validate():
        done = perform(
            lambda: issuing.revoke(db.session, current_user, found, form.reason.data or "",
                                   clock.now()),
            form,
        )  # fmt: skip
        if done.ok:
            flash(str(_l("Certificate %(number)s is revoked.", number=found.number)), "success")
            return redirect(url_for("admin.certificates", slug=event.slug) + "#issued", code=303)
    status = 422 if request.method == "POST" else 200
    page = render_template(
        "admin/certificate_revoke.html", event=event, certificate=found, form=form,
        format_code=codes.format_code,
    )  # fmt: skip
    return page, status
