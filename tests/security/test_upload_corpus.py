"""Each hostile or unusual file gets its documented answer (docs/security.md, "Uploads"), and a
refused upload leaves neither a row nor a file behind."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from diary.models import Photo
from tests.conftest import client_for
from tests.factories import BodySiteFactory
from tests.images import photo_bytes
from tests.security import corpus

pytestmark = pytest.mark.django_db

# name -> (file name sent, content builder, status, error code or stored (width, height))
REJECTED: dict[str, tuple[str, Callable[[], bytes], int, str]] = {
    "empty file": ("empty.jpg", lambda: b"", 400, "empty"),
    "text named .jpg": (
        "notes.jpg",
        lambda: b"Dear diary, this is not a JPEG.\n" * 20,
        400,
        "invalid_image",
    ),
    "truncated JPEG": ("cut.jpg", corpus.truncated_jpeg, 400, "invalid_image"),
    "1x1 pixel": ("dot.png", lambda: photo_bytes((1, 1)), 400, "too_small"),
    "30000x30000 PNG bomb": ("bomb.png", corpus.png_bomb, 400, "too_many_pixels"),
    "animated GIF": ("anim.gif", lambda: corpus.animated("GIF"), 400, "unsupported_format"),
    "animated WebP": ("anim.webp", lambda: corpus.animated("WEBP"), 400, "animated_image"),
}
ACCEPTED: dict[str, tuple[str, Callable[[], bytes], tuple[int, int], str]] = {
    "16-bit PNG": ("deep.png", corpus.sixteen_bit_png, (96, 72), "PNG"),
    "CMYK JPEG": ("cmyk.jpg", corpus.cmyk_jpeg, (96, 72), "JPEG"),
    "greyscale": ("grey.png", corpus.greyscale_png, (96, 72), "PNG"),
    "RGBA": ("alpha.png", corpus.rgba_png, (96, 72), "PNG"),
    "palette": ("palette.png", corpus.palette_png, (96, 72), "PNG"),
    "EXIF-rotated with GPS": ("rotated.jpg", corpus.exif_rotated_jpeg_with_gps, (72, 96), "JPEG"),
    "HEIC": ("IMG_0001.HEIC", corpus.heic, (96, 72), "JPEG"),
    "WebP": ("photo.webp", corpus.webp, (96, 72), "PNG"),
    "path traversal name": (
        "../../../../etc/passwd.jpg",
        lambda: photo_bytes(fmt="JPEG"),
        (96, 72),
        "JPEG",
    ),
    "300-character unicode name": ("é🙂" * 148 + "ü.png", photo_bytes, (96, 72), "PNG"),
}


def _post(user, site, name: str, content: bytes):
    upload = SimpleUploadedFile(name, content)
    return client_for(user).post(
        reverse("api:photo-list"), {"image": upload, "body_site": site.pk}, format="multipart"
    )


def _files_under(root: Path) -> list[Path]:
    return [p for p in Path(root).rglob("*") if p.is_file()] if Path(root).exists() else []


@pytest.mark.parametrize("case", list(REJECTED), ids=list(REJECTED))
def test_refused_upload_answers_its_code_and_leaves_nothing(patient_a, case, _media_root):
    name, build, status, code = REJECTED[case]
    response = _post(patient_a.user, BodySiteFactory(patient=patient_a), name, build())

    assert response.status_code == status, response.content
    body = response.json()
    # Field-level refusals (DRF's own checks) carry the code per field; service ones at the top.
    codes = {body["code"]} | {e["code"] for e in body.get("errors", {}).get("image", [])}
    assert code in codes, body
    assert not Photo.objects.exists()
    assert _files_under(_media_root) == []


@pytest.mark.parametrize("case", list(ACCEPTED), ids=list(ACCEPTED))
def test_accepted_upload_is_stored_upright_without_metadata(patient_a, case, _media_root):
    name, build, size, stored_format = ACCEPTED[case]
    response = _post(patient_a.user, BodySiteFactory(patient=patient_a), name, build())

    assert response.status_code == 201, response.content
    photo = Photo.objects.get()
    assert (photo.width, photo.height) == size
    files = _files_under(_media_root)
    assert files == [Path(photo.image.path)]
    # Stored under the patient's folder with a random name: nothing of the client's name.
    assert files[0].parent == Path(_media_root) / "photos" / str(photo.patient_id)
    assert "passwd" not in files[0].name and "é" not in files[0].name
    with Image.open(files[0]) as stored:
        assert stored.format == stored_format
        assert stored.mode == "RGB"
        assert stored.size == size
        assert not stored.getexif(), "EXIF (GPS, device, orientation) must be stripped"
        assert "icc_profile" not in stored.info and "xmp" not in stored.info


def test_exif_date_is_kept_in_the_database_while_the_file_loses_it(patient_a):
    response = _post(
        patient_a.user,
        BodySiteFactory(patient=patient_a),
        "r.jpg",
        corpus.exif_rotated_jpeg_with_gps(),
    )
    assert response.status_code == 201
    photo = Photo.objects.get()
    assert photo.taken_at_source == Photo.TakenAtSource.EXIF
    assert photo.taken_at.strftime("%Y-%m-%d %H:%M:%S") == "2024-05-06 07:08:09"
    with photo.image.open("rb") as stored:
        assert b"PrivatePhone" not in stored.read()


def test_heic_is_decoded_from_its_content_not_its_name(patient_a):
    # The same HEIC bytes under a .png name are still read as HEIF and stored as JPEG.
    response = _post(patient_a.user, BodySiteFactory(patient=patient_a), "x.png", corpus.heic())
    assert response.status_code == 201
    with Image.open(io.BytesIO(Photo.objects.get().image.read())) as stored:
        assert stored.format == "JPEG"
