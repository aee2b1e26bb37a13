"""Command-line entry points: ``flask --app symposium load-event FILE``, ``purge``, ``demo``."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path

import click
from flask import Flask, current_app
from flask_babel import force_locale
from flask_migrate import upgrade
from sqlalchemy import inspect, select
from werkzeug.serving import run_simple

from symposium import clock, demo_day
from symposium.config import ROOT
from symposium.extensions import db
from symposium.models import Event, OutboxStatus, Role, User
from symposium.services.accounts import access, door_tokens
from symposium.services.accreditation import list_documents, lists
from symposium.services.certificates import issuing
from symposium.services.core.errors import RuleError
from symposium.services.core.locking import Busy, lock_timeout_seconds
from symposium.services.mail import delivery, outbox, reminders, render
from symposium.services.privacy.retention import Retention, purge
from symposium.services.programme.event_files import EventFileError
from symposium.services.programme.event_loading import load_event_file
from symposium.services.referrals import retention as referral_retention

EXAMPLES = ROOT / "examples"
# The demo's own account, documented in the README; never create it outside the demo.
DEMO_ADMIN = "admin@example.org"
DEMO_PASSWORD = "symposium-demo"


def _require_schema() -> None:
    if not inspect(db.engine).has_table("events"):
        raise click.ClickException(
            "the database has no tables yet; run `flask --app symposium db upgrade` first"
        )


def _load(path: Path | str) -> None:
    try:
        result = load_event_file(db.session, path, clock.now())
    except EventFileError as exc:
        db.session.rollback()
        click.echo(f"{path}: not loaded, {len(exc.problems)} problem(s):", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        raise click.exceptions.Exit(1) from exc
    except Busy as exc:
        db.session.rollback()
        click.echo(
            f"{path}: not loaded, the database is busy: another transaction held the locks this "
            f"change needs for more than {lock_timeout_seconds():g} s (LOCK_TIMEOUT_SECONDS). "
            "Nothing was changed; try again.",
            err=True,
        )
        raise click.exceptions.Exit(1) from exc
    db.session.commit()
    click.echo(result.summary())


def _deliver_forever(app: Flask, interval: float = 2.0) -> None:
    """The demo's own mail worker, so a registration shows up as an .eml file at once."""
    while True:
        with app.app_context():
            reminders.queue_due(db.session, clock.now())
            backend = delivery.backend_for(app.config, app.instance_path)
            delivery.drain(db.session, backend, app.config, clock.now)
            db.session.remove()
        time.sleep(interval)


def register_cli(app: Flask) -> None:
    @app.cli.command("load-event")
    @click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
    def load_event(path: Path) -> None:
        """Create or update the event described by a TOML file (see docs/event-file.md)."""
        _require_schema()
        _load(path)

    @app.cli.command("outbox")
    @click.option(
        "--status",
        type=click.Choice([s.value for s in OutboxStatus]),
        default=OutboxStatus.QUEUED.value,
        show_default=True,
        help="Which messages to list: failed ones show their last error.",
    )
    @click.option("--show", "show_id", type=int, help="Print one message in full.")
    def list_outbox(status: str, show_id: int | None) -> None:
        """List the outbox: what waits to be sent, or what failed and why."""
        messages = outbox.by_status(db.session, OutboxStatus(status))
        if show_id is not None:
            message = next((m for m in messages if m.id == show_id), None)
            if message is None:
                raise click.ClickException(f"no {status} message {show_id}")
            if message.render_context is not None:  # written when sent; do it now to show it
                render.render(db.session, message)
                db.session.commit()
            click.echo(f"To: {message.to_address}\nSubject: {message.subject}\n")
            click.echo(message.body_text)
            return
        for m in messages:
            click.echo(
                f"{m.id:>6}  {m.created_at:%Y-%m-%d %H:%M}  {m.kind:<22} "
                f"{m.to_address}  {m.subject or '(written when sent)'}"
            )
            if m.status is OutboxStatus.FAILED:
                click.echo(f"        after {m.attempts} attempt(s): {m.last_error}")
            if m.maybe_sent:
                click.echo(f"        possibly delivered already ({m.maybe_sent}x: reply lost)")
        click.echo(f"{len(messages)} {status} message(s)")

    @app.cli.command("send-mail")
    @click.option("--once", is_flag=True, help="Send what is due, then stop.")
    @click.option("--interval", default=5.0, show_default=True, help="Seconds between polls.")
    def send_mail(once: bool, interval: float) -> None:
        """Deliver the outbox (file or SMTP backend; several workers may run at once)."""
        config = current_app.config
        while True:
            # Reminders fall due with time, not with a request: the worker queues them.
            reminded = reminders.queue_due(db.session, clock.now())
            if reminded:
                click.echo(f"queued {reminded} reminder(s)")
            backend = delivery.backend_for(config, current_app.instance_path)
            result = delivery.drain(db.session, backend, config, clock.now)
            if result.sent or result.retried or result.failed or once:
                click.echo(
                    f"sent {result.sent}, retry later {result.retried}, failed {result.failed}"
                )
            if once:
                return
            time.sleep(interval)

    @app.cli.command("purge")
    @click.option("--dry-run", is_flag=True, help="Print what would be anonymised; change nothing.")
    def purge_command(dry_run: bool) -> None:
        """Anonymise registrations whose retention period has passed (RETENTION_DAYS and
        ACCREDITATION_RETENTION_DAYS after their event) and a series' referrals closed longer
        than its referral_retention_months; safe to run again, e.g. daily."""
        _require_schema()
        retention = Retention.from_config(current_app.config)
        now = clock.now()
        plans = purge(db.session, now, retention, dry_run=dry_run)
        referrals = referral_retention.purge(db.session, now, dry_run=dry_run)
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
        verb = "would anonymise" if dry_run else "anonymised"
        for item in plans:
            click.echo(
                f"{item.event.slug}: {verb} {len(item.anonymise)} registration(s) "
                f"(register numbers kept for accreditation: {item.kept_for_accreditation}), "
                f"register numbers removed: {len(item.drop_accreditation)}, "
                f"mail blanked: {item.mail}; personal data until {item.personal_until:%Y-%m-%d}, "
                f"register numbers until {item.accreditation_until:%Y-%m-%d}"
            )
        for series in referrals:
            months = series.event.referral_retention_months
            click.echo(
                f"{series.event.slug}: {verb} {len(series.due)} referral(s) closed more than "
                f"{months} month(s) ago"  # no references: they lead back to the client
            )
        total = sum(len(i.anonymise) + len(i.drop_accreditation) + i.mail for i in plans)
        total += sum(len(series.due) for series in referrals)
        click.echo(("dry run: nothing changed; " if dry_run else "") + f"{total} change(s)")

    @app.cli.command("create-user")
    @click.argument("email")
    @click.option(
        "--role", type=click.Choice([r.value for r in Role]), required=True, help="What it may do."
    )
    @click.option("--event", "slug", help="Limit the role to this event (not for admin).")
    @click.option("--name", default="", help="Display name.")
    @click.option(
        "--generate-password", is_flag=True, help="Generate a password and print it once."
    )
    def create_user(
        email: str, role: str, slug: str | None, name: str, generate_password: bool
    ) -> None:
        """Create a back-office account, or give an existing one another role."""
        _require_schema()
        event = None
        if slug:
            event = db.session.scalars(select(Event).where(Event.slug == slug)).one_or_none()
            if event is None:
                raise click.ClickException(f"no event with slug {slug!r}")
        password = None
        if not generate_password:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            user, generated = access.grant_role(
                db.session, None, email, Role(role), clock.now(), event=event, name=name,
                password=password,
            )  # fmt: skip
        except access.AccessError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from exc
        db.session.commit()
        click.echo(f"{user.email}: {role}" + (f" of {slug}" if slug else ""))
        if generated:
            click.echo(f"Generated password (shown only now): {generated}")

    @app.cli.command("door-token")
    @click.argument("email")
    @click.option("--event", "slug", required=True, help="The event whose door it is for.")
    @click.option("--label", default="", help="Which phone or scanner, e.g. 'entrance 1'.")
    @click.option("--revoke", "revoke_id", type=int, help="Revoke the token with this id.")
    def door_token(email: str, slug: str, label: str, revoke_id: int | None) -> None:
        """Make an API token for a scanner app at an event's door (or revoke one)."""
        _require_schema()
        event = db.session.scalars(select(Event).where(Event.slug == slug)).one_or_none()
        if event is None:
            raise click.ClickException(f"no event with slug {slug!r}")
        user = db.session.scalars(select(User).where(User.email == email.lower())).one_or_none()
        if user is None:
            raise click.ClickException(f"no account {email!r}")
        try:
            if revoke_id is not None:
                door_tokens.revoke(db.session, None, revoke_id, clock.now(), user=user, event=event)
                db.session.commit()
                click.echo(f"token {revoke_id} revoked")
                return
            row, token = door_tokens.create(db.session, None, user, event, label, clock.now())
        except RuleError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc.message)) from exc
        db.session.commit()
        click.echo(f"token {row.id} for {user.email} at {slug} (shown only now):")
        click.echo(token)

    @app.cli.command("attendance-list")
    @click.argument("slug")
    @click.option("--register", "code", required=True, help="The register's code, e.g. GAIA.")
    @click.option(
        "--format", "fmt", type=click.Choice(lists.FORMATS), default="paste", show_default=True
    )
    @click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="One activity date.")
    @click.option(
        "--output", type=click.Path(dir_okay=False, path_type=Path),
        help="Write to this file (default: paste to the screen, others to their own name).",
    )  # fmt: skip
    def attendance_list(
        slug: str, code: str, fmt: str, day: datetime | None, output: Path | None
    ) -> None:
        """Write a register's attendance list: paste list, XLSX or PDF presence list."""
        _require_schema()
        event = db.session.scalars(select(Event).where(Event.slug == slug)).one_or_none()
        if event is None:
            raise click.ClickException(f"no event with slug {slug!r}")
        try:
            accreditation = lists.accreditation_for(db.session, event, code)
        except RuleError as exc:
            raise click.ClickException(str(exc.message)) from exc
        now = clock.now()
        found = lists.attendance_list(db.session, event, accreditation, day.date() if day else None)
        body, _mimetype, name = list_documents.document(found, fmt, now, "nl")
        lists.record_export(db.session, None, found, fmt, now)
        db.session.commit()
        if fmt == "paste" and output is None:
            click.echo(body.decode(), nl=False)
        else:
            target = output or Path(name)
            target.write_bytes(body)
            click.echo(f"{target}: {len(found.earned)} with points", err=True)
        for row in found.missing:
            click.echo(f"missing number: {row.name} ({row.number_problem})", err=True)

    @app.cli.command("certificates")
    @click.argument("slug")
    @click.option("--issue", "mode", flag_value="issue", help="Issue and mail them.")
    @click.option("--dry-run", "mode", flag_value="dry-run", help="Say what issuing would do.")
    def certificates_command(slug: str, mode: str | None) -> None:
        """Issue an event's certificates (each mailed by the send-mail worker), or say who
        would get one and why the others would not."""
        if mode is None:
            raise click.UsageError("say --issue or --dry-run")
        _require_schema()
        event = db.session.scalars(select(Event).where(Event.slug == slug)).one_or_none()
        if event is None:
            raise click.ClickException(f"no event with slug {slug!r}")
        with force_locale("en"):
            report = issuing.issue_all(
                db.session, None, event, clock.now(), dry_run=mode == "dry-run"
            )
            if mode == "issue":
                db.session.commit()
                for certificate in report.issued:
                    click.echo(f"issued {certificate.number}: {certificate.name}")
            else:
                db.session.rollback()
                for standing in report.would_issue:
                    click.echo(f"would issue: {standing.registration.name}")
            for standing in report.not_eligible:
                click.echo(f"no certificate: {standing.registration.name}: {standing.reason}")
        verb = "issued" if mode == "issue" else "to issue"
        count = len(report.issued) if mode == "issue" else len(report.would_issue)
        click.echo(
            f"{count} {verb}, {len(report.already)} issued before, "
            f"{len(report.not_eligible)} without a certificate",
            err=True,
        )

    @app.cli.command("demo")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=5000, show_default=True)
    @click.option("--serve/--no-serve", default=True, help="Start the web server afterwards.")
    def demo(host: str, port: int, serve: bool) -> None:
        """Create or upgrade the database, load examples/*.toml and serve the app."""
        upgrade()
        for path in sorted(EXAMPLES.glob("*.toml")):
            _load(path)
        admin, _ = access.create_user(
            db.session, DEMO_ADMIN, Role.ADMIN, clock.now(), name="Demo", password=DEMO_PASSWORD
        )
        db.session.commit()
        day = demo_day.run(db.session, admin, current_app.config["SECRET_KEY"], DEMO_PASSWORD)
        db.session.commit()
        click.echo(day.summary())
        click.echo(f"Back-office: /admin/ as {DEMO_ADMIN} with password {DEMO_PASSWORD}")
        click.echo(f"Door: /door/{demo_day.SLUG}/ as {demo_day.DOOR_EMAIL}, same password")
        if serve:
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            threading.Thread(target=_deliver_forever, args=(app,), daemon=True).start()
            click.echo(f"Mail is written to {app.config['MAIL_FILE_DIR'] or 'instance/mail'}/")
            click.echo(f"Serving on http://{host}:{port}/ (Ctrl+C stops)")
            # app.run() refuses to run inside the flask command; serve the same way it would.
            run_simple(host, port, app, use_debugger=app.debug, threaded=True)
