"""schemathesis against /api/v1/openapi.json, through the WSGI app: no answer ≥ 500, every
answer as the document describes it, and nothing stored for a refused request.

Bounded (a few dozen cases per operation, derandomised: the same cases every run) so it runs
in CI on SQLite and PostgreSQL in seconds.
"""

from __future__ import annotations

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from symposium.blueprints.api.openapi import OPENAPI
from symposium.extensions import db as _db
from tests.conftest import row_counts

# The document the app serves (tests/api/test_openapi.py checks they are the same); the app
# itself needs the test database, so each case is sent to it with ``app=``.
schema = schemathesis.openapi.from_dict(OPENAPI)


@schema.parametrize()
@settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_documented_and_stores_nothing_it_refuses(case, fuzzed_app: Flask) -> None:
    with fuzzed_app.app_context():
        before = row_counts(_db.session)
        # Every check but "schema-valid data is accepted": the document describes shapes, and
        # the rules (a known profession, a deliverable-looking address, open places) refuse
        # most shapely bodies with 422, as they must.
        response = case.call_and_validate(
            app=fuzzed_app, excluded_checks=[positive_data_acceptance]
        )
        _db.session.rollback()
        assert response.status_code < 500
        if 400 <= response.status_code < 500:
            assert row_counts(_db.session) == before, (response.status_code, response.text)
