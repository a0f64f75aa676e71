"""Re-analysis by a new model never replaces a clinician's correction: the new model's mask is
stored beside it and scored against it."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.urls import reverse
from PIL import Image

from diary.models import Analysis, CorrectionScore
from diary.services.analysis import photos_analyse
from segmentation.severity.agreement import mask_agreement
from tests.conftest import celery_conf, client_for
from tests.diary.test_corrections_api import box_mask, mask_png, post_correction
from tests.factories import BodySiteFactory, PhotoFactory, register_lraspp_checkpoint

pytestmark = pytest.mark.django_db


def _mask(field_file) -> np.ndarray:
    with field_file.open("rb") as handle:
        return np.asarray(Image.open(handle).convert("L")) >= 128


def test_reanalysis_keeps_the_correction_in_force_and_scores_the_new_model_against_it(
    tiny_checkpoint, patient_a, clinician, django_capture_on_commit_callbacks
):
    photo = PhotoFactory(body_site=BodySiteFactory(patient=patient_a))
    photos_analyse(photo_ids=[photo.pk])
    corrected = box_mask(8, 8, 40, 50)
    client = client_for(clinician)
    assert post_correction(client, photo, mask_png(corrected)).status_code == 201

    with celery_conf(task_always_eager=True), django_capture_on_commit_callbacks(execute=True):
        model = register_lraspp_checkpoint(
            tiny_checkpoint, name="tiny", activate=True, training_data="random init (test)"
        )
    new = Analysis.objects.get(photo=photo, model=model)  # the model's mask, beside the correction
    score = CorrectionScore.objects.get(analysis=new)
    expected = mask_agreement(_mask(new.mask), corrected)
    assert (score.true_positive, score.false_positive, score.false_negative) == (
        expected.true_positive,
        expected.false_positive,
        expected.false_negative,
    )
    assert score.f1 == pytest.approx(expected.f1) and score.model_version == model.version_label

    # The mask in force and the series point are still the clinician's.
    response = client.get(reverse("api:photo-mask", kwargs={"pk": photo.pk}))
    assert response["X-Mask-Source"] == "clinician"
    served = np.asarray(Image.open(io.BytesIO(b"".join(response.streaming_content))))
    assert np.array_equal(served >= 128, corrected)
    series = client.get(reverse("api:patient-series", args=[patient_a.pk])).json()
    [point] = series["sites"][0]["points"]
    assert series["model_version"] == model.version_label
    assert point["analysis_id"] == new.pk and point["mask_source"] == "clinician"
    correction = photo.corrections.get()
    assert point["lesion_skin_fraction"] == pytest.approx(correction.lesion_skin_fraction)
