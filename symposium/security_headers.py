"""Security headers on every response: one policy, one place (registered by create_app).

- Content-Security-Policy: scripts and styles only from our own files (no inline <script>,
  no on*= handlers, no style attributes or <style> blocks), no plugins, no framing, forms
  post only to us, no <base> tricks. The door page's scanner (static/door/door.js) uses the
  camera through getUserMedia, which 'self' allows, and decodes frames on the page itself
  (BarcodeDetector, else the vendored jsQR), so it needs no worker or blob: URL.
- Referrer-Policy ``same-origin``: manage links (/r/<token>) carry a secret, so no other
  site may see our URLs in a Referer. Not ``no-referrer``: Flask-WTF's CSRF check over HTTPS
  (WTF_CSRF_SSL_STRICT) requires a same-origin Referer on every form post.
- Strict-Transport-Security only on a request that came over HTTPS (behind a proxy that
  needs the proxy's X-Forwarded-Proto to be trusted), never for a plain-HTTP set-up.
- Cache-Control ``no-store`` on personal pages: manage pages and their calendars (/r/…),
  calendar feeds (/feeds/…), the back-office and its exports (/admin/…), the door pages
  with the names of who came in (/door/…), a session's check-ins in the API, and the API's
  answers about a registration (they hold its manage link).
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.wrappers import Response

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HSTS = "max-age=31536000"  # a year; no includeSubDomains: other hosts of the domain are not ours
PERSONAL_PREFIXES = ("/r/", "/feeds/", "/admin/", "/door/")


def is_personal(path: str, method: str) -> bool:
    """A page, file or answer about one person or for organisers only: never stored."""
    if path.startswith(PERSONAL_PREFIXES) or path == "/admin":
        return True
    # A registration's answer holds its manage link; a session's check-ins hold names.
    return path.startswith("/api/") and (method == "POST" or path.endswith("/checkins"))


def add_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    if is_personal(request.path, request.method):
        response.cache_control.no_store = True
        response.cache_control.public = False
        response.cache_control.max_age = None
    return response


def register(app: Flask) -> None:
    app.after_request(add_headers)
