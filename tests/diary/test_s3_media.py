"""Media on S3 (moto's server over HTTP) seen from the web host: no URLs, admin pages, the sweep."""

from __future__ import annotations

from datetime import timedelta

import environ
import pytest
from django.core.files.storage import default_storage, storages
from django.urls import reverse

from config.storage import MediaHasNoURL, default_storage_settings
from diary.services.files import stored_files_sweep
from tests.factories import AnalysisFactory, register_lraspp_checkpoint
from tests.s3_server import S3Bucket, s3_bucket, s3_endpoint  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def test_s3_settings_are_read_from_the_deployment_variables(s3_bucket: S3Bucket):  # noqa: F811
    options = default_storage_settings(environ.Env())["OPTIONS"]
    assert options["endpoint_url"] == s3_bucket.endpoint
    assert options["bucket_name"] == s3_bucket.name
    assert options["default_acl"] == "private"
    from config.storage_s3 import PrivateS3Storage

    assert isinstance(storages["default"], PrivateS3Storage)


def test_s3_unknown_storage_backend_is_refused(monkeypatch):
    monkeypatch.setenv("DJANGO_STORAGE_BACKEND", "ftp")
    with pytest.raises(ValueError, match="'local' or 's3'"):
        default_storage_settings(environ.Env())


def test_s3_storage_and_local_storage_give_no_url(s3_bucket: S3Bucket, settings):  # noqa: F811
    """A presigned link would outlive the permission check; media is streamed by views."""
    analysis = AnalysisFactory()
    assert analysis.mask.name in s3_bucket.object_keys()
    with pytest.raises(MediaHasNoURL):
        analysis.mask.url  # noqa: B018
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "config.storage.PrivateFileSystemStorage"},
    }
    with pytest.raises(MediaHasNoURL):
        default_storage.url("masks/m.png")


def test_s3_admin_pages_link_files_to_the_checked_view_not_the_bucket(
    client,
    staff,
    s3_bucket: S3Bucket,  # noqa: F811
    tmp_path,
):
    analysis = AnalysisFactory()
    client.force_login(staff)
    page = client.get(reverse("admin:diary_analysis_change", args=[analysis.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    mask_view = reverse("admin:diary_photo_file", args=[analysis.photo_id, "model_mask"])
    assert mask_view in html and analysis.mask.name in html
    assert s3_bucket.endpoint not in html and "X-Amz" not in html
    streamed = client.get(mask_view)
    assert streamed.status_code == 200 and streamed["Content-Type"] == "image/png"

    checkpoint = tmp_path / "weights.pth"
    checkpoint.write_bytes(b"not really a model")
    model = register_lraspp_checkpoint(checkpoint, activate=False)
    page = client.get(reverse("admin:segmentation_segmentationmodel_change", args=[model.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert model.checkpoint.name in html
    assert s3_bucket.endpoint not in html and "X-Amz" not in html


def test_s3_sweep_removes_only_objects_no_row_names(s3_bucket: S3Bucket):  # noqa: F811
    from django.core.files.base import ContentFile

    analysis = AnalysisFactory()
    orphan = default_storage.save("overlays/orphan.png", ContentFile(b"left behind"))
    named = {analysis.photo.image.name, analysis.mask.name, analysis.overlay.name}
    assert s3_bucket.object_keys() == named | {orphan}

    assert stored_files_sweep(older_than=timedelta(hours=1)) == []  # too recent
    assert stored_files_sweep(older_than=timedelta(0)) == [orphan]
    assert s3_bucket.object_keys() == named


def test_s3_photo_missing_from_the_bucket_fails_with_a_readable_reason(
    s3_bucket: S3Bucket,  # noqa: F811
):
    from diary.services.analysis import photos_analyse
    from diary.services.outcomes import Outcome
    from tests.factories import PhotoFactory

    photo = PhotoFactory()
    s3_bucket.client.delete_object(Bucket=s3_bucket.name, Key=photo.image.name)
    [result] = photos_analyse(photo_ids=[photo.pk])
    assert result.outcome is Outcome.FAILED
    photo.refresh_from_db()
    assert photo.error_message == "The photo's file is missing from storage."


def test_s3_outage_during_an_analysis_is_retried_not_failed(settings, monkeypatch, tmp_path):
    """The S3 endpoint goes away between the upload and the analysis: the photo is retried
    (transient), not failed as if it were a bad photo."""
    from diary.models import Photo
    from diary.services.analysis import photos_analyse
    from diary.services.outcomes import Outcome
    from tests.factories import PhotoFactory
    from tests.s3_server import moto_server, s3_point_at

    with moto_server(tmp_path) as (endpoint, server):
        s3_point_at(endpoint, settings, monkeypatch)
        photo = PhotoFactory()
        server.terminate()
        server.wait(timeout=10)
        [result] = photos_analyse(photo_ids=[photo.pk])
    assert result.outcome is Outcome.RETRY, result
    assert Photo.objects.get(pk=photo.pk).status == Photo.Status.PROCESSING
