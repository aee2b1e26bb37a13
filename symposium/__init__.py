"""symposium: registration for symposia, workshops and themed group sessions."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, flash, jsonify, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from limits.errors import ConfigurationError
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from symposium import busy
from symposium.config import (
    ROOT,
    ConfigError,
    Defaults,
    check,
    default_database_url,
    from_environment,
    normalise_database_url,
)
from symposium.extensions import babel, csrf, db, limiter, login_manager, migrate
from symposium.services.core.locking import Busy

__all__ = ["ConfigError", "create_app"]

LANG_COOKIE = "lang"
# Stable API error codes for the HTTP errors raised outside the views (schemas.ERROR_CODES).
API_CODES = {413: "body_too_large", 405: "method_not_allowed", 404: "not_found", 400: "bad_request"}


def create_app(config: Mapping[str, Any] | None = None, instance_path: str | None = None) -> Flask:
    """Build the app: defaults < instance/config.py < environment < ``config``."""
    app = Flask(
        __name__,
        instance_path=instance_path or str(ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(from_environment(os.environ))
    if config:
        app.config.update(config)
    check(app.config)

    url = app.config.get("DATABASE_URL") or default_database_url(app.instance_path)
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(url)
    if not app.config.get("SECRET_KEY"):
        if not (app.debug or app.testing):
            raise ConfigError(
                "SECRET_KEY is not set. Set the SECRET_KEY environment variable or add "
                "SECRET_KEY = '…' to instance/config.py (generate one with "
                "`python -c 'import secrets; print(secrets.token_hex(32))'`), "
                "or run with --debug for local development."
            )
        app.config["SECRET_KEY"] = "insecure-development-key"
    if not (app.debug or app.testing) and app.config["BASE_URL"] == Defaults.BASE_URL:
        # Mail is written by the delivery worker, outside any request: its links use BASE_URL.
        app.logger.warning(
            "BASE_URL is not set: links in mail will point to %s. Set the BASE_URL "
            "environment variable to the site's public address.",
            Defaults.BASE_URL,
        )
    app.config["TRUSTED_HOSTS"] = trusted_hosts(
        app.config["BASE_URL"], app.config["TRUSTED_HOSTS"], local=app.debug or app.testing
    )
    lock_timeout = app.config["LOCK_TIMEOUT_SECONDS"]  # checked with every setting above
    if url.startswith("sqlite"):
        os.makedirs(app.instance_path, exist_ok=True)
        # SQLite's busy timeout (how long to wait for the write lock) is sqlite3's ``timeout``.
        options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        options["connect_args"] = {**options.get("connect_args", {}), "timeout": lock_timeout}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options

    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(ROOT / "symposium" / "translations"))
    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(ROOT / "symposium" / "migrations"),
        render_as_batch=True,  # SQLite can only ALTER a table by copying it
        compare_type=True,
    )
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    _init_rate_limits(app)
    login_manager.init_app(app)
    # Cookies only over HTTPS in production; SECURE_COOKIES = False for a plain-HTTP setup.
    secure = app.config["SECURE_COOKIES"]
    if secure is None:
        secure = not (app.debug or app.testing)
    app.config.update(SESSION_COOKIE_SECURE=secure, REMEMBER_COOKIE_SECURE=secure)

    from symposium import filters, input_guard, security_headers
    from symposium.blueprints import (
        admin,
        api,
        certificates,
        door,
        manage,
        programme,
        referrals,
        registration,
    )
    from symposium.cli import register_cli

    input_guard.init_app(app)
    filters.register(app)
    security_headers.register(app)
    for blueprint in (
        programme.bp, registration.bp, referrals.bp, manage.bp, manage.feeds, api.bp, admin.bp,
        door.bp, certificates.bp,
    ):  # fmt: skip
        app.register_blueprint(blueprint)
    register_cli(app)
    _register_language_switch(app)
    _register_error_pages(app)
    return app


def _init_rate_limits(app: Flask) -> None:
    """Count per client across every worker and host, and know the client behind a proxy.

    Flask-Limiter keys on ``request.remote_addr``. Behind N trusted proxies that is the last
    proxy, so ProxyFix takes the client from the N-th X-Forwarded-For entry from the right
    (entries further left are the client's own say and are ignored) and the scheme from
    X-Forwarded-Proto (secure cookies, HTTPS links). X-Forwarded-Host is not trusted: links
    must never be built from a host a client chose. With 0 proxies no header is read.
    """
    proxies = app.config["TRUSTED_PROXY_COUNT"]  # bounded by config.check
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    uri = app.config["RATELIMIT_STORAGE_URI"]
    try:
        limiter.init_app(app)
    except ConfigurationError as exc:  # e.g. the storage's client library is missing
        raise ConfigError(f"RATELIMIT_STORAGE_URI={uri!r}: {exc}") from exc
    if uri.startswith("memory:") and not (app.debug or app.testing):
        app.logger.warning(
            "RATELIMIT_STORAGE_URI is memory://: every worker process counts on its own, so "
            "with several workers each rate limit is that many times higher than set. Set "
            "RATELIMIT_STORAGE_URI=redis://HOST:6379 (one Redis for all workers and hosts)."
        )


def trusted_hosts(base_url: str, configured: list[str] | None, *, local: bool) -> list[str]:
    """The Host names the app answers to; any other Host gets 400 (Flask's TRUSTED_HOSTS).

    BASE_URL's host always, then the configured ones (or, unset, localhost and 127.0.0.1
    when debugging or testing, so the demo and the tests run). Never empty: Werkzeug
    reads an empty list as "any host".
    """
    hosts = [urlsplit(base_url).hostname or "localhost"]
    extra = configured if configured is not None else (["localhost", "127.0.0.1"] if local else [])
    return list(dict.fromkeys([*hosts, *extra]))


def select_locale() -> str:
    """``?lang=`` first, then the remembered choice, then Accept-Language; Dutch by default."""
    from flask import current_app, has_request_context

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI and workers: mail picks its language explicitly
        return languages[0]
    for choice in (request.args.get("lang"), request.cookies.get(LANG_COOKIE)):
        if choice in languages:
            return choice
    return request.accept_languages.best_match(languages) or languages[0]


def _register_language_switch(app: Flask) -> None:
    @app.after_request
    def remember_language(response):  # type: ignore[no-untyped-def]
        choice = request.args.get("lang")
        if choice in app.config["LANGUAGES"] and request.cookies.get(LANG_COOKIE) != choice:
            response.set_cookie(
                LANG_COOKIE,
                choice,
                max_age=365 * 24 * 3600,
                samesite="Lax",
                httponly=True,
                secure=app.config["SESSION_COOKIE_SECURE"],  # SECURE_COOKIES
            )
        response.headers.setdefault("Content-Language", str(get_locale()))
        response.vary.add("Accept-Language")
        response.vary.add("Cookie")
        return response


def _register_error_pages(app: Flask) -> None:
    def is_api() -> bool:
        """The API, and the JSON the door page's scanner posts: errors answer in JSON."""
        return request.path.startswith("/api/") or request.is_json

    def api_error(status: int, code: str, message: str):  # type: ignore[no-untyped-def]
        response = jsonify(error={"code": code, "message": message})
        response.status_code = status
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        if is_api():
            code = API_CODES.get(error.code or 500) or (error.name or "error").lower().replace(
                " ", "_"
            )
            if isinstance(error, CSRFError):  # the door's scanner fetches a new token then
                code = "csrf_failed"
            response = api_error(error.code or 500, code, error.description or error.name)
            # The exception's own headers: Allow on a 405, as HTTP requires.
            for name, value in error.get_headers():
                if name.lower() != "content-type":
                    response.headers[name] = value
            return response
        if error.code == 404:
            return render_template("errors/404.html"), 404
        if error.code == 413:
            limit = app.config["MAX_CONTENT_LENGTH"] or 0
            return render_template("errors/413.html", kilobytes=limit // 1000), 413
        return error

    @app.errorhandler(429)
    def too_many_requests(error):  # type: ignore[no-untyped-def]
        current = limiter.current_limit
        retry_after = max(1, int(current.reset_at - time.time())) if current else 60
        if is_api():
            response = api_error(
                429, "rate_limited", f"Too many requests; retry after {retry_after} seconds."
            )
        else:
            response = app.make_response(
                (render_template("errors/429.html", retry_after=retry_after), 429)
            )
        response.headers["Retry-After"] = str(retry_after)
        return response

    @app.errorhandler(Busy)
    def database_busy(error: Busy):  # type: ignore[no-untyped-def]
        """A lock wait timed out: nothing was written. Say so, and when to try again."""
        db.session.rollback()
        app.logger.warning("%s %s: database busy: %s", request.method, request.path, error.orig)
        retry_after = busy.retry_after()
        page = busy.kept_form()
        if is_api():
            response = api_error(
                503,
                "busy",
                f"The database is busy; nothing was saved. Retry after {retry_after} seconds.",
            )
        elif page is not None:
            flash(
                _(
                    "It is very busy at the moment, so nothing has been saved. What you entered "
                    "is still in the form: please send it again in a few seconds."
                ),
                "error",
            )
            response = app.make_response((page(), 503))
        else:
            response = app.make_response(
                (render_template("errors/503.html", retry_after=retry_after), 503)
            )
        response.headers["Retry-After"] = str(retry_after)
        return response

    @app.errorhandler(OperationalError)
    def database_unavailable(error: OperationalError):  # type: ignore[no-untyped-def]
        """The database cannot be reached (restarting, down): nothing was saved; 503.

        Its page needs nothing from the database, not even the signed-in account; any other
        OperationalError stays a 500.
        """
        if not busy.unavailable(error):
            raise error
        with contextlib.suppress(SQLAlchemyError):
            db.session.rollback()
        app.logger.warning("%s %s: database unavailable: %s", request.method, request.path,
                           error.orig)  # fmt: skip
        retry_after = busy.UNAVAILABLE_RETRY_SECONDS
        if is_api():
            response = api_error(
                503,
                "database_unavailable",
                f"The database is unavailable; nothing was saved. Retry after {retry_after} "
                "seconds.",
            )
        else:
            # Not render_template: its context processors load the signed-in account.
            page = app.jinja_env.get_template("errors/unavailable.html")
            response = app.make_response((page.render(retry_after=retry_after), 503))
        response.headers["Retry-After"] = str(retry_after)
        return response

    @app.errorhandler(500)
    def server_error(error):  # type: ignore[no-untyped-def]
        if is_api():
            return api_error(500, "server_error", "Something went wrong on our side.")
        return render_template("errors/500.html"), 500
