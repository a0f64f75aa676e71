"""Worker hosts sharing media through S3: moto's server over HTTP, PostgreSQL, Redis, live worker.

The worker is started with the S3 settings in its environment and a media folder of its own that
stays empty (another host's disk); this test process plays the web host, whose media folder must
stay empty too. Every check is made against the bucket's objects.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from diary.models import Analysis, Photo
from tests.conftest import client_for
from tests.factories import BodySiteFactory, PatientFactory, register_lraspp_checkpoint
from tests.images import photo_bytes
from tests.pipeline.conftest import wait_for
from tests.s3_server import S3Bucket, s3_bucket, s3_endpoint  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.services, pytest.mark.slow]


def _upload(client, site, content: bytes) -> dict:
    data = {"image": SimpleUploadedFile("photo.png", content), "body_site": site.pk}
    response = client.post(reverse("api:photo-list"), data, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()


def _analysed(photo_ids, count: int = 1):
    return lambda: all(
        Photo.objects.get(pk=pk).status == "done"
        and Analysis.objects.filter(photo_id=pk).count() >= count
        for pk in photo_ids
    )


def _files(photo_id: int) -> set[str]:
    photo = Photo.objects.get(pk=photo_id)
    names = {photo.image.name}
    for analysis in photo.analyses.all():
        names |= {analysis.mask.name, analysis.overlay.name}
    return names


def _streamed(response) -> bytes:
    assert response.status_code == 200, response
    assert response["Cache-Control"] == "private, no-store"
    return b"".join(response.streaming_content)


@pytest.fixture
def s3_worker(start_worker, s3_bucket, tmp_path):  # noqa: F811
    """A live worker on the bucket whose own media folder is not the web host's."""
    worker_media = tmp_path / "worker-host-media"
    worker = start_worker(media_root=worker_media)
    yield worker
    assert not worker_media.exists(), "the worker wrote media to its local disk"


def test_s3_upload_is_analysed_by_a_worker_without_the_web_media_folder(
    s3_bucket: S3Bucket,  # noqa: F811
    s3_worker,
    settings,
):
    patient = PatientFactory()
    client = client_for(patient.user)
    body = _upload(client, BodySiteFactory(patient=patient), photo_bytes((160, 120)))
    photo_id = body["id"]
    photo = Photo.objects.get(pk=photo_id)
    assert photo.image.name in s3_bucket.object_keys()

    wait_for(_analysed([photo_id]), timeout=90, what="the analysis", worker=s3_worker)
    analysis = Analysis.objects.get(photo_id=photo_id)
    assert s3_bucket.object_keys() == {photo.image.name, analysis.mask.name, analysis.overlay.name}
    assert analysis.mask.name.startswith("masks/")
    assert analysis.overlay.name.startswith("overlays/")

    # Downloads stream the bucket's bytes after the permission check.
    for route, name in (
        ("api:photo-image", photo.image.name),
        ("api:photo-mask", analysis.mask.name),
        ("api:photo-overlay", analysis.overlay.name),
    ):
        url = reverse(route, args=[photo_id])
        assert _streamed(client.get(url)) == s3_bucket.read(name)
        stranger = client_for(PatientFactory().user)
        assert stranger.get(url).status_code == 404

    # Nothing links to the bucket: no public or presigned URL in what the API answers.
    detail = json.dumps(client.get(body["status_url"]).json())
    assert s3_bucket.endpoint not in detail and "X-Amz" not in detail
    assert detail.count("/api/v1/photos/") >= 3
    # And the objects are private: the server refuses an unauthenticated read.
    for name in s3_bucket.object_keys():
        acl = s3_bucket.client.get_object_acl(Bucket=s3_bucket.name, Key=name)
        assert [grant["Permission"] for grant in acl["Grants"]] == ["FULL_CONTROL"]
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{s3_bucket.endpoint}/{s3_bucket.name}/{name}", timeout=10)
        assert refused.value.code == 403
    assert not settings.MEDIA_ROOT.exists(), "the web host wrote media to its local disk"


def test_s3_deleting_a_photo_removes_its_objects_from_the_bucket(
    s3_bucket: S3Bucket,  # noqa: F811
    s3_worker,
):
    patient = PatientFactory()
    client = client_for(patient.user)
    site = BodySiteFactory(patient=patient)
    kept, deleted = (_upload(client, site, photo_bytes((160, 120), colour_shift=i)) for i in (1, 2))
    wait_for(_analysed([kept["id"], deleted["id"]]), timeout=90, what="the analyses",
             worker=s3_worker)  # fmt: skip
    kept_files, deleted_files = _files(kept["id"]), _files(deleted["id"])
    assert len(kept_files) == len(deleted_files) == 3
    assert s3_bucket.object_keys() == kept_files | deleted_files

    response = client.delete(reverse("api:photo-detail", args=[deleted["id"]]))
    assert response.status_code == 204
    assert s3_bucket.object_keys() == kept_files
    assert client.get(reverse("api:photo-mask", args=[deleted["id"]])).status_code == 404


def test_s3_erasure_removes_every_object_of_the_patient_and_no_other(
    s3_bucket: S3Bucket,  # noqa: F811
    s3_worker,
):
    erased, other = PatientFactory(), PatientFactory()
    erased_photos = [
        _upload(client_for(erased.user), BodySiteFactory(patient=erased), photo_bytes(size))["id"]
        for size in ((160, 120), (120, 160))
    ]
    other_photo = _upload(
        client_for(other.user), BodySiteFactory(patient=other), photo_bytes((160, 120))
    )["id"]
    wait_for(_analysed([*erased_photos, other_photo]), timeout=90, what="the analyses",
             worker=s3_worker)  # fmt: skip
    other_files = _files(other_photo)
    assert len(s3_bucket.object_keys() - other_files) == 6  # two photos, two masks, two overlays

    response = client_for(erased.user).delete(reverse("api:patient-erasure", args=[erased.pk]))
    assert response.status_code == 204
    assert s3_bucket.object_keys() == other_files
    assert not Photo.objects.filter(pk__in=erased_photos).exists()


def test_s3_activating_a_model_stored_in_the_bucket_reanalyses_the_archive(
    s3_bucket: S3Bucket,  # noqa: F811
    s3_worker,
    tiny_checkpoint,
):
    """The checkpoint is copied into the bucket by the web host; the worker host, which never
    saw the file, reads it from there and re-analyses the stored photos with it."""
    patient = PatientFactory()
    client = client_for(patient.user)
    photo_id = _upload(client, BodySiteFactory(patient=patient), photo_bytes((160, 120)))["id"]
    wait_for(_analysed([photo_id]), timeout=90, what="the baseline analysis", worker=s3_worker)

    model = register_lraspp_checkpoint(tiny_checkpoint, activate=True)
    assert model.checkpoint.name in s3_bucket.object_keys()

    wait_for(_analysed([photo_id], count=2), timeout=120, what="the re-analysis",
             worker=s3_worker)  # fmt: skip
    latest = Photo.objects.get(pk=photo_id).latest_analysis
    assert latest.model_id == model.pk
    mask = _streamed(client.get(reverse("api:photo-mask", args=[photo_id])))
    assert mask == s3_bucket.read(latest.mask.name)
    assert s3_bucket.object_keys() == _files(photo_id) | {model.checkpoint.name}
