"""The generated client compares two uploaded photos of a body site (``photos_change_*``)."""

from __future__ import annotations

import datetime as dt
import importlib
import io
import time

import pytest
from PIL import Image

from segmentation.registration.synthetic import similarity, transformed
from tests.api_client.test_generated_client import (  # noqa: F401 (fixtures)
    PASSWORD,
    PNG_SIGNATURE,
    _api,
    analyses_uploads,
    generated_client,
)
from tests.factories import PatientFactory
from tests.registration.scenes import textured_skin

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SHAPE = (300, 400)


def _png(image) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_generated_client_compares_two_photos(
    live_server,
    generated_client,  # noqa: F811 (the fixture imported above)
    analyses_uploads,  # noqa: F811
):
    pkg = generated_client
    models = importlib.import_module(f"{pkg.__name__}.models")
    types = importlib.import_module(f"{pkg.__name__}.types")
    patient = PatientFactory()
    token = _api(pkg, "auth.auth_token_create").sync(
        client=pkg.Client(base_url=live_server.url),
        body=models.LoginRequest(username=patient.user.username, password=PASSWORD),
    )
    client = pkg.AuthenticatedClient(base_url=live_server.url, token=token.token, prefix="Token")
    site = _api(pkg, "body_sites.body_sites_create").sync(
        client=client,
        body=models.BodySiteRequest(region=models.RegionEnum.HANDS, label="left hand"),
    )
    before, _ = textured_skin(SHAPE, seed=3, lesion_radius=0.18)
    after, _ = textured_skin(SHAPE, seed=3, lesion_radius=0.12)
    after = transformed(after, similarity(SHAPE, degrees=-12, scale=0.95, shift=(6.0, 4.0)))
    photos = []
    for day, image in (("2025-01-06T10:00:00Z", before), ("2025-03-06T10:00:00Z", after)):
        upload = _api(pkg, "photos.photos_create").sync_detailed(
            client=client,
            body=models.PhotoUploadRequest(
                image=types.File(payload=io.BytesIO(_png(image)), file_name="hand.png"),
                body_site=site.id,
                taken_at=dt.datetime.fromisoformat(day),
            ),
        )
        assert upload.status_code == 201, upload.content
        photos.append(upload.parsed)
    retrieve = _api(pkg, "photos.photos_retrieve")
    deadline = time.monotonic() + 120
    for i, photo in enumerate(photos):
        while photo.status not in (models.StatusEnum.DONE, models.StatusEnum.FAILED):
            assert time.monotonic() < deadline, f"photo still {photo.status}"
            time.sleep(0.5)
            photo = retrieve.sync(client=client, id=photo.id)
        assert photo.status == models.StatusEnum.DONE, photo.error_message
        photos[i] = photo

    change = _api(pkg, "photos.photos_change_retrieve").sync(
        client=client, id=photos[1].id, against=photos[0].id
    )
    assert isinstance(change, models.PhotoChange), change
    assert change.aligned is True
    assert change.earlier.id == photos[0].id and change.later.id == photos[1].id
    assert change.repigmented_share == pytest.approx(1 - (0.12 / 0.18) ** 2, abs=0.1)
    assert change.new_lesion_share < 0.05

    overlay = _api(pkg, "photos.photos_change_overlay_retrieve").sync_detailed(
        client=client, id=photos[1].id, against=photos[0].id
    )
    assert overlay.status_code == 200 and overlay.content.startswith(PNG_SIGNATURE)
