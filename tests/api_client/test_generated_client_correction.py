"""The generated client posts a clinician's correction, reads its figures and the mask in force,
and the series' ``mask_source`` (issue 21), unedited, like the rest of the diary flow."""

from __future__ import annotations

import importlib
import io
import time

import numpy as np
import pytest
from PIL import Image

from tests.api_client.test_generated_client import (  # noqa: F401  (fixtures)
    PNG_SIGNATURE,
    _api,
    analyses_uploads,
    generated_client,
)
from tests.api_client.test_generated_client_quality import _login
from tests.factories import BodySiteFactory, ClinicianFactory, PatientFactory
from tests.images import textured_photo_bytes

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _mask_png(height: int, width: int) -> tuple[bytes, np.ndarray]:
    mask = np.zeros((height, width), bool)
    mask[height // 4 : height // 2, width // 4 : width // 2] = True
    buffer = io.BytesIO()
    Image.fromarray(np.where(mask, 255, 0).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue(), mask


def test_the_generated_client_posts_a_correction_and_reads_the_mask_in_force(
    live_server,
    generated_client,  # noqa: F811
    analyses_uploads,  # noqa: F811
):
    pkg = generated_client
    models = importlib.import_module(f"{pkg.__name__}.models")
    types = importlib.import_module(f"{pkg.__name__}.types")
    patient = PatientFactory()
    clinician = ClinicianFactory()
    patient.clinicians.add(clinician)
    site = BodySiteFactory(patient=patient)
    mine = _login(pkg, models, live_server.url, patient.user.username)
    upload = _api(pkg, "photos.photos_create").sync(
        client=mine,
        body=models.PhotoUploadRequest(
            image=types.File(payload=io.BytesIO(textured_photo_bytes()), file_name="hand.png"),
            body_site=site.id,
        ),
    )
    retrieve = _api(pkg, "photos.photos_retrieve")
    photo, deadline = upload, time.monotonic() + 120
    while photo.status not in (models.StatusEnum.DONE, models.StatusEnum.FAILED):
        assert time.monotonic() < deadline, f"photo still {photo.status}"
        time.sleep(0.5)
        photo = retrieve.sync(client=mine, id=photo.id)
    assert photo.mask_source == models.MaskSourceEnum.MODEL

    content, drawn = _mask_png(photo.height, photo.width)
    create = _api(pkg, "photos.photos_corrections_create")

    def body():
        return models.CorrectionUploadRequest(
            mask=types.File(payload=io.BytesIO(content), file_name="mask.png")
        )

    # The patient may read their photo but may not correct it: the endpoint does not exist.
    assert create.sync_detailed(client=mine, id=photo.id, body=body()).status_code == 404
    doctor = _login(pkg, models, live_server.url, clinician.username)
    correction = create.sync(client=doctor, id=photo.id, body=body())
    assert isinstance(correction, models.Correction), correction
    assert correction.corrected_by == clinician.username
    assert 0.0 <= correction.f1 <= 1.0 and 0.0 <= correction.iou <= correction.f1
    assert correction.lesion_skin_fraction is not None

    photo = retrieve.sync(client=mine, id=photo.id)
    assert photo.mask_source == models.MaskSourceEnum.CLINICIAN
    mask = _api(pkg, "photos.photos_mask_retrieve").sync_detailed(client=mine, id=photo.id)
    assert mask.content.startswith(PNG_SIGNATURE) and mask.headers["x-mask-source"] == "clinician"
    served = np.asarray(Image.open(io.BytesIO(mask.content))) >= 128
    assert np.array_equal(served, drawn)

    series = _api(pkg, "patients.patients_series_retrieve").sync(
        client=mine, id=patient.pk, body_site=site.id
    )
    [point] = series.sites[0].points
    assert point.mask_source == models.MaskSourceEnum.CLINICIAN
    assert point.lesion_skin_fraction == pytest.approx(correction.lesion_skin_fraction)
    history = _api(pkg, "photos.photos_corrections_list").sync(client=mine, id=photo.id)
    assert [c.id for c in history] == [correction.id]
