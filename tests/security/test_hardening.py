"""Throttling, body size, password rules and the production settings' deploy check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from diary.models import Photo
from tests.conftest import client_for
from tests.factories import BodySiteFactory
from tests.images import photo_bytes

pytestmark = pytest.mark.django_db
BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def low_rates(monkeypatch):
    """Two requests a minute per scope. DRF copies the rates onto the throttle class when it is
    imported, so overriding the setting alone would change nothing."""
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"login": "2/min", "upload": "2/min"})
    cache.clear()
    yield
    cache.clear()


def test_login_is_throttled(low_rates, patient_a):
    client = APIClient()
    url = reverse("api:login")
    answers = [
        client.post(url, {"username": patient_a.user.username, "password": "wrong"}).status_code
        for _ in range(3)
    ]
    assert answers == [401, 401, 429]
    # Even the right password is refused while throttled: no guessing through the limit.
    right = client.post(
        url, {"username": patient_a.user.username, "password": "correct-horse-battery"}
    )
    assert right.status_code == 429
    assert right.json()["code"] == "throttled"
    assert int(right["Retry-After"]) > 0


def test_uploads_are_throttled_but_reads_are_not(low_rates, patient_a):
    client = client_for(patient_a.user)
    site = BodySiteFactory(patient=patient_a)

    def upload(shift: int) -> int:
        image = SimpleUploadedFile("p.png", photo_bytes(colour_shift=shift))
        data = {"image": image, "body_site": site.pk}
        return client.post(reverse("api:photo-list"), data, format="multipart").status_code

    assert [upload(1), upload(2), upload(3)] == [201, 201, 429]
    assert Photo.objects.count() == 2
    assert all(client.get(reverse("api:photo-list")).status_code == 200 for _ in range(4))


def test_oversized_body_is_refused_by_its_length_before_parsing(patient_a, settings):
    settings.PHOTO_MAX_UPLOAD_BYTES = 1000
    site = BodySiteFactory(patient=patient_a)
    big = SimpleUploadedFile("big.png", b"\0" * (1024 * 1024 + 2000))
    response = client_for(patient_a.user).post(
        reverse("api:photo-list"), {"image": big, "body_site": site.pk}, format="multipart"
    )
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert "request has" in response.json()["detail"]  # the middleware's answer, not the service's


@pytest.mark.parametrize("password", ["short", "password123", "12345678901", "user0000xyz"])
def test_weak_passwords_are_refused(password):
    from diary.models import User

    with pytest.raises(ValidationError):
        validate_password(password, User(username="user0000xyz"))


def test_production_settings_pass_the_deploy_check():
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "x7!" + "k2Qz9-wLp4Rv8_Ns6Yb3Ht1Mj5Gc0Fd" * 2,
        "DJANGO_ALLOWED_HOSTS": "diary.example.org",
        "DATABASE_URL": "sqlite:////tmp/deploy-check.sqlite3",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret():
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_ALLOWED_HOSTS": "diary.example.org",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
