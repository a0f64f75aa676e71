"""Alignment with the pipeline's real parts: uploads through the API, PostgreSQL, Redis and a
live worker, which also runs the realignment when a clinician chooses another baseline."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from diary.models import Analysis, BodySite
from diary.services.alignment import body_site_baseline_set
from segmentation.registration.synthetic import corner_error, similarity, transformed
from tests.conftest import client_for
from tests.factories import BodySiteFactory, PatientFactory
from tests.pipeline.conftest import wait_for
from tests.registration.scenes import textured_skin

pytestmark = [pytest.mark.services, pytest.mark.slow]

SHAPE = (300, 400)
TRUTH = similarity(SHAPE, degrees=-15, scale=0.9, shift=(6.0, 8.0))


def _upload(client, site, image: np.ndarray, taken_at: str) -> int:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    data = {"image": SimpleUploadedFile("hand.png", buffer.getvalue()), "body_site": site.pk,
            "taken_at": taken_at}  # fmt: skip
    response = client.post(reverse("api:photo-list"), data, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _alignment(photo_id: int) -> dict | None:
    analysis = Analysis.objects.filter(photo_id=photo_id).first()
    return analysis.alignment if analysis else None


def test_uploads_are_aligned_and_realigned_by_the_worker(start_worker):
    worker = start_worker()
    patient = PatientFactory()
    site = BodySiteFactory(patient=patient)
    client = client_for(patient.user)
    scene, _ = textured_skin(SHAPE, seed=5)
    first = _upload(client, site, scene, "2025-01-06T10:00:00Z")
    wait_for(lambda: _alignment(first), timeout=90, what="the first analysis", worker=worker)
    second = _upload(client, site, transformed(scene, TRUTH), "2025-02-06T10:00:00Z")
    stored = wait_for(lambda: _alignment(second), timeout=90, what="the second", worker=worker)

    assert BodySite.objects.get(pk=site.pk).alignment_baseline_id == first
    assert stored["aligned"] and stored["baseline_photo"] == first
    assert corner_error(np.array(stored["matrix"]), TRUTH, SHAPE) < 0.005
    body = client.get(reverse("api:photo-change", args=[second]), {"against": first}).json()
    assert body["aligned"] and body["repigmented_share"] < 0.05

    body_site_baseline_set(body_site=BodySite.objects.get(pk=site.pk),
                           photo=site.photos.get(pk=second))  # fmt: skip
    realigned = wait_for(
        lambda: (_alignment(first) or {}).get("baseline_photo") == second and _alignment(first),
        timeout=90,
        what="the realignment on the default queue",
        worker=worker,
    )
    assert realigned["aligned"]
    assert corner_error(np.array(realigned["matrix"]), np.linalg.inv(TRUTH), SHAPE) < 0.005
