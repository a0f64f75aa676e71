"""Photo upload through the API, with real small images."""

import datetime as dt
import io

import pytest
from django.urls import reverse
from PIL import Image

from diary.models import Photo
from tests.conftest import celery_conf, client_for
from tests.factories import BodySiteFactory
from tests.images import photo_bytes

pytestmark = pytest.mark.django_db


def _upload(client, site, content: bytes, name: str = "photo.png", **extra):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {"image": SimpleUploadedFile(name, content), "body_site": site.pk, **extra}
    return client.post(reverse("api:photo-list"), data, format="multipart")


@pytest.fixture
def published_tasks():
    """Record what Celery publishes, through its own signal, with a broker that is not eager."""
    from celery.signals import before_task_publish

    sent: list[tuple] = []

    def record(sender=None, body=None, **kwargs):
        sent.append((sender, body[0] if isinstance(body, tuple) else body))

    before_task_publish.connect(record, weak=False)
    try:
        with celery_conf(task_always_eager=False, broker_url="memory://localhost/"):
            yield sent
    finally:
        before_task_publish.disconnect(record)


def test_upload_returns_201_pending_with_where_to_poll(
    patient_a, django_capture_on_commit_callbacks
):
    site = BodySiteFactory(patient=patient_a)
    client = client_for(patient_a.user)
    with django_capture_on_commit_callbacks(execute=False):
        response = _upload(client, site, photo_bytes((120, 80)), taken_at="2026-05-01T10:00:00Z")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending"
    assert (
        response["Location"] == body["status_url"] == reverse("api:photo-detail", args=[body["id"]])
    )
    photo = Photo.objects.get(pk=body["id"])
    assert (photo.width, photo.height) == (120, 80)
    assert photo.taken_at_source == "client"
    assert photo.taken_at == dt.datetime(2026, 5, 1, 10, tzinfo=dt.UTC)
    assert client.get(body["status_url"]).json()["status"] == "pending"

    downloaded = client.get(body["image_url"])
    assert downloaded.status_code == 200
    assert downloaded["Cache-Control"] == "private, no-store"
    image = Image.open(io.BytesIO(b"".join(downloaded.streaming_content)))
    assert image.size == (120, 80)


def test_exif_date_wins_and_orientation_is_applied(patient_a, django_capture_on_commit_callbacks):
    site = BodySiteFactory(patient=patient_a)
    taken = dt.datetime(2025, 12, 24, 9, 30, 0)
    # Orientation 6: the camera was rotated, the stored image must be upright (swapped size).
    content = photo_bytes((120, 80), fmt="JPEG", taken_at=taken, orientation=6)
    with django_capture_on_commit_callbacks(execute=False):
        response = _upload(client_for(patient_a.user), site, content, name="p.jpg")
    assert response.status_code == 201, response.json()
    photo = Photo.objects.get(pk=response.json()["id"])
    assert photo.taken_at_source == "exif"
    assert photo.taken_at.replace(tzinfo=None) == taken
    assert (photo.width, photo.height) == (80, 120)
    with photo.image.open("rb") as handle:
        stored = Image.open(handle)
        assert len(stored.getexif()) == 0  # no metadata kept in the stored file


def test_analysis_is_enqueued_only_after_commit(
    patient_a, published_tasks, django_capture_on_commit_callbacks
):
    site = BodySiteFactory(patient=patient_a)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _upload(client_for(patient_a.user), site, photo_bytes())
        assert response.status_code == 201
        assert published_tasks == []  # nothing sent while the transaction is open
    for callback in callbacks:
        callback()
    assert published_tasks == [("diary.analyse_photo", (response.json()["id"],))]


def test_same_bytes_twice_answer_the_first_photo(patient_a, django_capture_on_commit_callbacks):
    site = BodySiteFactory(patient=patient_a)
    client = client_for(patient_a.user)
    content = photo_bytes(colour_shift=7)
    with django_capture_on_commit_callbacks(execute=False):
        first = _upload(client, site, content)
        again = _upload(client, site, content)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Photo.objects.count() == 1


@pytest.mark.parametrize(
    ("content", "code"),
    [(b"", "empty_file"), (b"not an image at all", "invalid_image")],
)
def test_bad_upload_is_a_json_400_and_leaves_nothing(patient_a, content, code, _media_root):
    site = BodySiteFactory(patient=patient_a)
    response = _upload(client_for(patient_a.user), site, content, name="x.jpg")
    assert response.status_code == 400
    assert response.json()["code"] in (code, "invalid")
    assert Photo.objects.count() == 0
    assert not (_media_root / "photos").exists() or not any((_media_root / "photos").rglob("*.*"))


def test_upload_to_another_patients_body_site_is_refused(patient_a, patient_b):
    foreign = BodySiteFactory(patient=patient_b)
    response = _upload(client_for(patient_a.user), foreign, photo_bytes())
    assert response.status_code == 404  # like the site's own URL: ids leak nothing
    assert "body_site" in response.json()["errors"]
    assert Photo.objects.count() == 0


def test_oversized_upload_is_413(patient_a, settings):
    settings.PHOTO_MAX_UPLOAD_BYTES = 1000
    site = BodySiteFactory(patient=patient_a)
    response = _upload(client_for(patient_a.user), site, photo_bytes((400, 400)))
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"


def test_mask_before_analysis_is_404(patient_a):
    from tests.factories import PhotoFactory

    photo = PhotoFactory(body_site=BodySiteFactory(patient=patient_a))
    response = client_for(patient_a.user).get(reverse("api:photo-mask", args=[photo.pk]))
    assert response.status_code == 404
    assert response.json()["code"] == "not_analysed"
