"""Clinicians' corrections through the API: stored as new rows, measured, scored, in force in the
series and the mask endpoint; refused (404) for anyone else; malformed masks store nothing."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from diary.models import Analysis, AuditEvent, Correction, CorrectionScore
from diary.services.analysis import photos_analyse
from segmentation.severity import measure_severity
from tests.conftest import client_for
from tests.factories import BodySiteFactory, PhotoFactory

pytestmark = pytest.mark.django_db

W, H = 64, 48


def mask_png(mask: np.ndarray, *, mode: str = "L") -> bytes:
    image = Image.fromarray(np.where(mask, 255, 0).astype(np.uint8))
    if mode == "RGBA":  # white strokes on a transparent canvas, as a browser's canvas exports
        rgba = np.zeros((*mask.shape, 4), np.uint8)
        rgba[mask] = (255, 255, 255, 255)
        image = Image.fromarray(rgba, "RGBA")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def box_mask(top: int, left: int, bottom: int, right: int) -> np.ndarray:
    mask = np.zeros((H, W), bool)
    mask[top:bottom, left:right] = True
    return mask


@pytest.fixture
def analysed_photo(patient_a):
    photo = PhotoFactory(body_site=BodySiteFactory(patient=patient_a))
    photos_analyse(photo_ids=[photo.pk])
    return photo


def post_correction(client, photo, content: bytes, name: str = "mask.png"):
    url = reverse("api:photo-corrections", kwargs={"pk": photo.pk})
    return client.post(url, {"mask": SimpleUploadedFile(name, content)}, format="multipart")


def _stored(settings) -> list[Path]:
    return sorted(p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file())


def test_a_correction_is_stored_measured_and_scored_against_the_model_mask(
    analysed_photo, clinician
):
    client = client_for(clinician)
    corrected = box_mask(10, 12, 30, 40)
    response = post_correction(client, analysed_photo, mask_png(corrected))
    assert response.status_code == 201, response.json()
    body = response.json()
    correction = Correction.objects.get(pk=body["id"])
    analysis = Analysis.objects.get(photo=analysed_photo)
    assert correction.analysis == analysis and correction.corrected_by == clinician
    assert body["model_version"] == analysis.model_version
    assert body["corrected_by"] == clinician.username

    # The measures come from the severity code on the corrected mask, nothing else.
    with analysed_photo.image.open("rb") as handle:
        pixels = np.asarray(Image.open(handle).convert("RGB"))
    expected = measure_severity(pixels, corrected, segmenter="clinician")
    assert body["lesion_skin_fraction"] == pytest.approx(expected.lesion_skin_fraction)
    expected_measures = expected.as_dict()
    assert set(body["measures"]) == set(expected_measures)
    for key, value in expected_measures.items():
        if isinstance(value, float):
            assert body["measures"][key] == pytest.approx(value), key

    # How far the model's mask was, computed here independently of the service.
    with analysis.mask.open("rb") as handle:
        model_mask = np.asarray(Image.open(handle).convert("L")) >= 128
    tp = np.count_nonzero(model_mask & corrected)
    fp = np.count_nonzero(model_mask & ~corrected)
    fn = np.count_nonzero(~model_mask & corrected)
    assert body["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert body["iou"] == pytest.approx(tp / (tp + fp + fn))
    assert body["area_difference"] == pytest.approx(model_mask.mean() - corrected.mean())
    score = CorrectionScore.objects.get(correction=correction)
    assert (score.true_positive, score.false_positive, score.false_negative) == (tp, fp, fn)


def test_the_correction_in_force_is_served_by_the_mask_endpoint_and_the_photo(
    analysed_photo, clinician, patient_a
):
    first, second = box_mask(5, 5, 20, 20), box_mask(20, 30, 40, 60)
    client = client_for(clinician)
    assert post_correction(client, analysed_photo, mask_png(first)).status_code == 201
    assert post_correction(client, analysed_photo, mask_png(second, mode="RGBA")).status_code == 201
    # A new row each time: the first correction is kept, the second is in force.
    assert Correction.objects.filter(photo=analysed_photo).count() == 2

    patient = client_for(patient_a.user)  # the patient reads the corrected mask too
    response = patient.get(reverse("api:photo-mask", kwargs={"pk": analysed_photo.pk}))
    assert response.status_code == 200 and response["X-Mask-Source"] == "clinician"
    served = np.asarray(Image.open(io.BytesIO(b"".join(response.streaming_content))))
    assert np.array_equal(served >= 128, second)
    detail = patient.get(reverse("api:photo-detail", kwargs={"pk": analysed_photo.pk})).json()
    assert detail["mask_source"] == "clinician"
    history = patient.get(reverse("api:photo-corrections", kwargs={"pk": analysed_photo.pk}))
    assert [c["id"] for c in history.json()] == sorted(
        Correction.objects.values_list("id", flat=True), reverse=True
    )


def test_an_uncorrected_photo_says_its_mask_comes_from_the_model(analysed_photo, patient_a):
    client = client_for(patient_a.user)
    response = client.get(reverse("api:photo-mask", kwargs={"pk": analysed_photo.pk}))
    assert response["X-Mask-Source"] == "model"
    detail = client.get(reverse("api:photo-detail", kwargs={"pk": analysed_photo.pk})).json()
    assert detail["mask_source"] == "model"


@pytest.mark.parametrize("who", ["patient", "other_clinician", "anonymous"])
def test_only_the_patients_clinicians_may_post_a_correction_others_get_404(
    analysed_photo, patient_a, other_clinician, who, settings
):
    users = {"patient": patient_a.user, "other_clinician": other_clinician, "anonymous": None}
    client = client_for(users[who]) if users[who] else client_for(None)
    before = _stored(settings)
    response = post_correction(client, analysed_photo, mask_png(box_mask(1, 1, 9, 9)))
    assert response.status_code == (401 if who == "anonymous" else 404)
    assert response.json()["code"] in ("not_found", "not_authenticated")
    assert Correction.objects.count() == 0 and _stored(settings) == before


def test_staff_may_correct_any_patients_mask(analysed_photo, staff):
    response = post_correction(client_for(staff), analysed_photo, mask_png(box_mask(1, 1, 9, 9)))
    assert response.status_code == 201


def _photo_bytes_as_mask() -> bytes:
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (H, W, 3), np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _wrong_size() -> bytes:
    return mask_png(np.ones((H + 1, W), bool))


@pytest.mark.parametrize(
    ("content", "name", "code"),
    [
        (_wrong_size(), "mask.png", "mask_size_mismatch"),
        (b"lesion here, trust me", "mask.png", "invalid_image"),
        (b"", "mask.txt", "empty"),
        (_photo_bytes_as_mask(), "mask.png", "mask_not_binary"),
    ],
    ids=["wrong-size", "text-file", "empty", "a-photo-not-a-mask"],
)
def test_a_malformed_correction_mask_gets_a_clear_error_and_stores_nothing(
    analysed_photo, clinician, settings, content, name, code
):
    before = _stored(settings)
    response = post_correction(client_for(clinician), analysed_photo, content, name)
    assert response.status_code == 400, response.content
    body = response.json()
    assert code in str(body), body
    assert Correction.objects.count() == 0 and CorrectionScore.objects.count() == 0
    assert _stored(settings) == before


def test_a_correction_of_a_photo_not_yet_analysed_is_refused(patient_a, clinician):
    photo = PhotoFactory(body_site=BodySiteFactory(patient=patient_a))
    response = post_correction(client_for(clinician), photo, mask_png(box_mask(1, 1, 9, 9)))
    assert response.status_code == 409 and response.json()["code"] == "not_analysed"


def test_a_correction_is_audited_as_a_create_naming_the_patient(analysed_photo, clinician):
    response = post_correction(
        client_for(clinician), analysed_photo, mask_png(box_mask(1, 1, 9, 9))
    )
    assert response.status_code == 201
    event = AuditEvent.objects.filter(path__endswith="/corrections/").get()
    assert event.action == AuditEvent.Action.CREATE and event.status_code == 201
    assert event.patient_ids == [analysed_photo.patient_id]
    assert (event.actor_id, event.actor_role) == (clinician.pk, "clinician")
