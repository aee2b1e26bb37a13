"""The app as gunicorn serves it for the benchmarks: ``gunicorn bench.wsgi:app``.

Production configuration (SECRET_KEY and DATABASE_URL from the environment) with two
differences: the rate limiter is off, so a crowd from one loopback address is not refused,
and the instance folder is ``$BENCH_INSTANCE_PATH`` (a temporary folder), so a developer's
``instance/config.py`` cannot change the figures. With ``$BENCH_STATIC_DIR`` set, files in
that folder are served at ``/bench-static/<name>`` exactly as Flask serves ``/static/``
(``send_from_directory``), for comparing a page with a static file of the same size.
"""

from __future__ import annotations

import os

from flask import send_from_directory
from werkzeug.wrappers import Response

from symposium import create_app

app = create_app(
    {"RATELIMIT_ENABLED": False}, instance_path=os.environ.get("BENCH_INSTANCE_PATH") or None
)

_static_dir = os.environ.get("BENCH_STATIC_DIR")
if _static_dir:

    @app.get("/bench-static/<path:filename>")
    def bench_static(filename: str) -> Response:
        return send_from_directory(_static_dir, filename)
