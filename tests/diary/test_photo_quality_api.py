"""Photo quality through the API: checks at upload, lesion check with the analysis, the dry run
that stores nothing, a clinician's inclusion of a refused photo, and the schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from diary.models import Analysis, AuditEvent, Photo
from segmentation.severity.photo_quality import CHEAP_CHECK_CODES
from tests.conftest import celery_conf, client_for
from tests.factories import BodySiteFactory
from tests.images import textured_photo_bytes

pytestmark = pytest.mark.django_db


def _upload(client, site, content: bytes):
    """Upload, then run what the commit sends: the analysis, in-process even where a broker is
    configured (the live worker's path is tests/api_client/test_generated_client_quality.py)."""
    from django.test import TestCase

    data = {"image": SimpleUploadedFile("photo.png", content), "body_site": site.pk}
    with celery_conf(task_always_eager=True), TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(reverse("api:photo-list"), data, format="multipart")


def _check(client, content: bytes, name: str = "photo.png"):
    data = {"image": SimpleUploadedFile(name, content)}
    return client.post(reverse("api:photo-check"), data, format="multipart")


def _failed(quality: dict) -> set[str]:
    return {check["code"] for check in quality["checks"] if not check["passed"]}


def test_a_good_photo_passes_at_upload_and_gets_the_lesion_check_with_its_analysis(patient_a):
    client = client_for(patient_a.user)
    response = _upload(client, BodySiteFactory(patient=patient_a), textured_photo_bytes())
    assert response.status_code == 201, response.json()
    # The cheap checks are in the upload's answer; the analysis adds the lesion check.
    assert [c["code"] for c in response.json()["quality"]["checks"]] == list(CHEAP_CHECK_CODES)
    photo = client.get(response.json()["status_url"]).json()
    assert photo["status"] == "done"
    quality = photo["quality"]
    assert quality["ok"] is True and quality["counts_in_trends"] is True
    assert [c["code"] for c in quality["checks"]] == [*CHEAP_CHECK_CODES, "lesion_cut"]
    for check in quality["checks"]:
        assert set(check) == {"code", "passed", "value", "threshold", "message"}
        assert check["passed"] is True


def test_a_dark_photo_is_kept_and_analysed_but_says_what_to_fix(patient_a):
    client = client_for(patient_a.user)
    response = _upload(client, BodySiteFactory(patient=patient_a), textured_photo_bytes(gain=0.2))
    assert response.status_code == 201
    body = response.json()
    assert "underexposed" in _failed(body["quality"])
    assert body["quality"]["ok"] is False and body["quality"]["counts_in_trends"] is False
    message = next(c for c in body["quality"]["checks"] if c["code"] == "underexposed")["message"]
    assert "too dark" in message
    photo = Photo.objects.get(pk=body["id"])
    assert photo.status == Photo.Status.DONE and photo.analyses.count() == 1
    assert photo.quality_ok is False


def _stored_files(settings) -> list[Path]:
    return sorted(p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file())


def _rows() -> tuple[int, int, int]:
    return Photo.objects.count(), Analysis.objects.count(), AuditEvent.objects.count()


def test_the_dry_run_answers_the_checks_and_stores_nothing(patient_a, settings):
    client = client_for(patient_a.user)
    _upload(client, BodySiteFactory(patient=patient_a), textured_photo_bytes(seed=1))
    files, rows = _stored_files(settings), _rows()
    assert files and rows[0] == 1  # something to compare with

    good = _check(client, textured_photo_bytes(seed=2))
    dark = _check(client, textured_photo_bytes(seed=3, gain=0.2))
    refused = _check(client, b"not an image", name="photo.jpg")

    assert good.status_code == 200, good.json()
    assert good.json()["ok"] is True
    assert [c["code"] for c in good.json()["checks"]] == list(CHEAP_CHECK_CODES)
    assert dark.status_code == 200 and _failed(dark.json()) >= {"underexposed"}
    assert refused.status_code == 400
    assert refused.json()["errors"]["image"][0]["code"] == "invalid_image"
    assert _stored_files(settings) == files
    assert _rows() == rows


def test_the_dry_run_needs_a_login_and_an_image(api_client, patient_a):
    assert _check(api_client, textured_photo_bytes()).status_code == 401
    client = client_for(patient_a.user)
    response = client.post(reverse("api:photo-check"), {}, format="multipart")
    assert response.status_code == 400 and "image" in response.json()["errors"]


@pytest.fixture
def refused_photo(patient_a):
    client = client_for(patient_a.user)
    site = BodySiteFactory(patient=patient_a)
    body = _upload(client, site, textured_photo_bytes(seed=4, gain=0.2)).json()
    return Photo.objects.get(pk=body["id"])


def _include(client, photo, include=True):
    url = reverse("api:photo-quality-override", args=[photo.pk])
    return client.post(url, {"include": include}, format="json")


def test_a_clinician_includes_a_refused_photo_and_it_is_audited(refused_photo, clinician):
    client = client_for(clinician)
    before = AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE).count()
    response = _include(client, refused_photo)
    assert response.status_code == 200, response.json()
    quality = response.json()["quality"]
    assert quality["ok"] is False  # the checks still say what they said
    assert quality["counts_in_trends"] is True and quality["included_by_clinician"] is True
    refused_photo.refresh_from_db()
    assert refused_photo.quality_included_by == clinician
    events = AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE)
    assert events.count() == before + 1
    assert events.first().patient_ids == [refused_photo.patient_id]

    undone = _include(client, refused_photo, include=False).json()["quality"]
    assert undone["counts_in_trends"] is False and undone["included_by_clinician"] is False


def test_a_patient_cannot_include_and_another_clinician_sees_nothing(
    refused_photo, other_clinician
):
    patient = client_for(refused_photo.patient.user)
    answer = _include(patient, refused_photo)
    assert answer.status_code == 403 and answer.json()["code"] == "permission_denied"
    assert _include(client_for(other_clinician), refused_photo).status_code == 404
    refused_photo.refresh_from_db()
    assert refused_photo.quality_included_at is None


def test_inclusion_refuses_a_body_without_a_boolean(refused_photo, clinician):
    url = reverse("api:photo-quality-override", args=[refused_photo.pk])
    response = client_for(clinician).post(url, {}, format="json")
    assert response.status_code == 400 and "include" in response.json()["errors"]


def test_the_schema_documents_the_quality_object(api_client):
    schema = api_client.get(reverse("api:schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    components = schema.json()["components"]["schemas"]
    assert "quality" in components["Photo"]["required"]
    quality = components["PhotoQuality"]["properties"]
    assert {"ok", "checks"} <= set(quality)
    check = components["QualityCheck"]
    assert set(check["required"]) == {"code", "passed", "value", "threshold", "message"}
    paths = schema.json()["paths"]
    assert "post" in paths["/api/v1/photos/check/"]
    assert "post" in paths["/api/v1/photos/{id}/quality-override/"]
