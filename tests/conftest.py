"""Project-wide fixtures: isolated media, the API client per role, and real-service checks."""

from __future__ import annotations

import os
from contextlib import contextmanager

import pytest
from rest_framework.test import APIClient

from tests.factories import ClinicianFactory, PatientFactory, StaffFactory

IN_CI = os.environ.get("CI", "").lower() == "true"


def require_service(name: str, reachable: bool, detail: str) -> None:
    """Under CI a missing PostgreSQL or Redis is a failure; locally the test is skipped."""
    if reachable:
        return
    message = f"{name} is not reachable ({detail})"
    if IN_CI:
        pytest.fail(message + ": CI=true requires it")
    pytest.skip(message)


@contextmanager
def celery_conf(**overrides):
    """Override Celery settings for a block. The app reads Django settings under the CELERY_
    namespace, and those prefixed keys win over the plain ones, so they are what we set."""
    from config.celery import app

    keys = {f"CELERY_{name.upper()}": value for name, value in overrides.items()}
    saved = {key: app.conf.get(key) for key in keys}
    app.conf.update(keys)
    try:
        yield app
    finally:
        app.conf.update(saved)


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def clinician(db):
    return ClinicianFactory()


@pytest.fixture
def other_clinician(db):
    return ClinicianFactory()


@pytest.fixture
def patient_a(db, clinician):
    return PatientFactory(clinicians=[clinician])


@pytest.fixture
def patient_b(db, other_clinician):
    return PatientFactory(clinicians=[other_clinician])


@pytest.fixture
def staff(db):
    return StaffFactory()
