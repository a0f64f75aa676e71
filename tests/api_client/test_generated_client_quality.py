"""The generated client reads the photo quality object, runs the dry run and lets a clinician
include a refused photo (issue 22), unedited, like the rest of the diary flow."""

from __future__ import annotations

import importlib
import io
import time

import pytest

from tests.api_client.test_generated_client import (  # noqa: F401  (fixtures)
    PASSWORD,
    _api,
    analyses_uploads,
    generated_client,
)
from tests.factories import BodySiteFactory, ClinicianFactory, PatientFactory
from tests.images import textured_photo_bytes

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _login(pkg, models, url: str, username: str):
    token = _api(pkg, "auth.auth_token_create").sync(
        client=pkg.Client(base_url=url),
        body=models.LoginRequest(username=username, password=PASSWORD),
    )
    return pkg.AuthenticatedClient(base_url=url, token=token.token, prefix="Token")


def test_the_generated_client_reads_quality(live_server, generated_client, analyses_uploads):  # noqa: F811
    pkg = generated_client
    models = importlib.import_module(f"{pkg.__name__}.models")
    types = importlib.import_module(f"{pkg.__name__}.types")
    patient = PatientFactory()
    clinician = ClinicianFactory()
    patient.clinicians.add(clinician)
    site = BodySiteFactory(patient=patient)
    client = _login(pkg, models, live_server.url, patient.user.username)

    def image(content: bytes):
        return types.File(payload=io.BytesIO(content), file_name="hand.png")

    dry = _api(pkg, "photos.photos_check_create").sync(
        client=client,
        body=models.QualityCheckUploadRequest(image=image(textured_photo_bytes(gain=0.2))),
    )
    assert isinstance(dry, models.QualityCheckResult), dry
    assert dry.ok is False
    assert "underexposed" in {check.code.value for check in dry.checks if not check.passed}

    photos = []
    for gain in (1.0, 0.2):
        upload = _api(pkg, "photos.photos_create").sync(
            client=client,
            body=models.PhotoUploadRequest(
                image=image(textured_photo_bytes(gain=gain)), body_site=site.id
            ),
        )
        assert isinstance(upload.quality, models.PhotoQuality), upload
        photos.append(upload)

    retrieve = _api(pkg, "photos.photos_retrieve")
    deadline = time.monotonic() + 120
    good = photos[0]
    while good.status not in (models.StatusEnum.DONE, models.StatusEnum.FAILED):
        assert time.monotonic() < deadline, f"photo still {good.status}"
        time.sleep(0.5)
        good = retrieve.sync(client=client, id=good.id)
    assert good.quality.ok is True and good.quality.counts_in_trends is True
    codes = [check.code.value for check in good.quality.checks]
    assert "lesion_cut" in codes and "blurred" in codes
    assert all(isinstance(check.value, float) for check in good.quality.checks)

    dark = retrieve.sync(client=client, id=photos[1].id)
    assert dark.quality.ok is False and dark.quality.counts_in_trends is False
    include = _api(pkg, "photos.photos_quality_override_create")
    refused = include.sync_detailed(
        client=client, id=dark.id, body=models.PhotoQualityOverrideRequest(include=True)
    )
    assert refused.status_code == 403
    staff = _login(pkg, models, live_server.url, clinician.username)
    included = include.sync(
        client=staff, id=dark.id, body=models.PhotoQualityOverrideRequest(include=True)
    )
    assert included.quality.included_by_clinician is True
    assert included.quality.counts_in_trends is True and included.quality.ok is False
