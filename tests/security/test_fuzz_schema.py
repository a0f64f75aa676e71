"""schemathesis against the OpenAPI schema, signed in as a patient, at the tool's own strength.

The project's ``schemathesis.toml`` is the configuration, here as for ``schemathesis run``: every
check, schemathesis's default number of examples per operation, and every operation except the
two that would end the fuzzer's own session (``auth/logout`` revokes its token,
``patients/{id}/erasure`` deletes its patient; both have their own tests). No deadline per
example (the machine is shared); derandomised, so that a CI failure reproduces.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from django.core.cache import cache
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.config import SchemathesisConfig

from tests.factories import AnalysisFactory, BodySiteFactory, PatientFactory, PhotoFactory

CONFIG = Path(__file__).resolve().parents[2] / "schemathesis.toml"

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """schemathesis calls the WSGI handler directly, which closes "old" database connections at
    each request's start and end, and so the test's transaction on PostgreSQL (SQLite's in-memory
    database ignores close()). Django's own test client disconnects the same receivers."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def patient_token(db, monkeypatch) -> str:
    from rest_framework.throttling import SimpleRateThrottle

    # Throttling would turn later examples into 429s; it has its own test (test_hardening).
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"login": None, "upload": None})
    cache.clear()
    patient = PatientFactory()
    site = BodySiteFactory(patient=patient)
    AnalysisFactory(photo=PhotoFactory(body_site=site))
    return Token.objects.create(user=patient.user).key


def _load_schema():
    from config.wsgi import application

    # Generating the schema touches no table, so loading it at collection time needs no database.
    config = SchemathesisConfig.from_path(CONFIG)
    return schemathesis.openapi.from_wsgi("/api/v1/schema/", application, config=config)


schema = _load_schema()


@schema.parametrize()
@settings(
    deadline=None,
    derandomize=True,  # the same examples on every CI run: a failure is reproducible
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@pytest.mark.django_db
def test_api_conforms_to_its_schema(case, patient_token):
    # No ``checks=``: every check the configuration enables, which is all of them.
    case.call_and_validate(headers={"Authorization": f"Token {patient_token}"})
