"""schemathesis against the OpenAPI schema, signed in as a patient and as a clinician, at the
tool's own strength.

Each role fuzzes the schema that role is served: the schema is generated with the requester's
user (a clinician must name the ``patient`` of a new body site or treatment; a patient may not).

The project's ``schemathesis.toml`` is the configuration, here as for ``schemathesis run``: every
check, schemathesis's default number of examples per operation, and every operation except the
two that would end the fuzzer's own session (``auth/logout`` revokes its token,
``patients/{id}/erasure`` deletes its patient; both have their own tests). No deadline per
example (the machine is shared); derandomised, so that a CI failure reproduces.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import schemathesis
from django.core.cache import cache
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.config import SchemathesisConfig

from diary.models import User
from tests.factories import (
    AnalysisFactory,
    BodySiteFactory,
    ClinicianFactory,
    PatientFactory,
    PhotoFactory,
)

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


def _diary_with_one_analysis(monkeypatch, **patient_fields):
    from rest_framework.throttling import SimpleRateThrottle

    # Throttling would turn later examples into 429s; it has its own test (test_hardening).
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"login": None, "upload": None})
    cache.clear()
    patient = PatientFactory(**patient_fields)
    site = BodySiteFactory(patient=patient)
    AnalysisFactory(photo=PhotoFactory(body_site=site))
    return patient


@pytest.fixture
def patient_token(db, monkeypatch) -> str:
    patient = _diary_with_one_analysis(monkeypatch)
    return Token.objects.create(user=patient.user).key


@pytest.fixture
def clinician_token(db, monkeypatch) -> str:
    clinician = ClinicianFactory()
    _diary_with_one_analysis(monkeypatch, clinicians=[clinician])
    return Token.objects.create(user=clinician).key


def _schema_served_to(user) -> dict:
    """The schema ``/api/v1/schema/`` answers ``user``: the view's own generator and renderer,
    with a request that carries the user as authentication would have set it."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer
    from rest_framework.test import APIRequestFactory

    request = APIRequestFactory().get("/api/v1/schema/")
    request.user, request.auth = user, None
    from drf_spectacular.settings import spectacular_settings

    raw = SchemaGenerator().get_schema(request=request, public=spectacular_settings.SERVE_PUBLIC)
    return json.loads(OpenApiJsonRenderer().render(raw))


def _load_schema_of(role: str):
    from config.wsgi import application

    # An unsaved user of the role (pk -1, no row): the schema depends on the role, not on a
    # row, and collection has no database. test_each_role_fuzzes_the_schema_it_is_served checks
    # it against the wire.
    loaded = schemathesis.openapi.from_dict(
        _schema_served_to(User(pk=-1, role=role, is_staff=role != User.Role.PATIENT)),
        config=SchemathesisConfig.from_path(CONFIG),
    )
    loaded.app, loaded.location = application, "/api/v1/schema/"
    return loaded


schema = _load_schema_of(User.Role.PATIENT)
clinician_schema = _load_schema_of(User.Role.CLINICIAN)
FUZZ_SETTINGS = settings(
    deadline=None,
    derandomize=True,  # the same examples on every CI run: a failure is reproducible
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@schema.parametrize()
@FUZZ_SETTINGS
@pytest.mark.django_db
def test_api_conforms_to_its_schema(case, patient_token):
    # No ``checks=``: every check the configuration enables, which is all of them.
    case.call_and_validate(headers={"Authorization": f"Token {patient_token}"})


@clinician_schema.parametrize()
@FUZZ_SETTINGS
@pytest.mark.django_db
def test_api_conforms_to_its_schema_as_a_clinician(case, clinician_token):
    case.call_and_validate(headers={"Authorization": f"Token {clinician_token}"})


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("token_fixture", "fuzzed"), [("patient_token", schema), ("clinician_token", clinician_schema)]
)
def test_each_role_fuzzes_the_schema_it_is_served(request, api_client, token_fixture, fuzzed):
    token = request.getfixturevalue(token_fixture)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    served = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert served.status_code == 200
    assert json.loads(served.content) == fuzzed.raw_schema


def test_a_clinician_names_the_patient_of_a_new_row_and_a_patient_may_not():
    from django.contrib.auth.models import AnonymousUser

    # The public schema, which the patients' app is generated from, is the patient's.
    public = _schema_served_to(AnonymousUser())
    for component in ("BodySiteRequest", "TreatmentEntryRequest"):
        required = {
            "clinician": clinician_schema.raw_schema["components"]["schemas"][component],
            "patient": schema.raw_schema["components"]["schemas"][component],
            "public": public["components"]["schemas"][component],
        }
        assert "patient" in required["clinician"]["required"]
        assert "patient" not in required["patient"].get("required", [])
        assert "patient" not in required["public"].get("required", [])
