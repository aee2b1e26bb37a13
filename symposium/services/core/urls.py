"""Absolute links, also outside a request: mail is written by a worker, not by the request."""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, url_for


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL, also outside a request (then based on the BASE_URL setting)."""
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        return url_for(endpoint, _external=True, **values)
