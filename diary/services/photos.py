"""Photo uploads: store atomically, then enqueue the analysis once the row is committed."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import BodySite, Photo
from .errors import ServiceError
from .images import decode_photo

logger = logging.getLogger(__name__)


def _read_limited(upload: UploadedFile, limit: int) -> bytes:
    if upload.size is not None and upload.size > limit:
        raise ServiceError(
            f"The file has {upload.size} bytes; at most {limit} are accepted.",
            code="file_too_large",
            status=413,
        )
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ServiceError(
            f"The file is larger than {limit} bytes.", code="file_too_large", status=413
        )
    return data


def photo_create(
    *, body_site: BodySite, upload: UploadedFile, taken_at: datetime | None = None
) -> tuple[Photo, bool]:
    """Store an uploaded photo for ``body_site``'s patient and enqueue its analysis.

    Returns ``(photo, created)``: the same bytes uploaded again for the same patient return the
    photo stored the first time, with ``created=False``.
    """
    try:
        decoded = decode_photo(
            _read_limited(upload, settings.PHOTO_MAX_UPLOAD_BYTES),
            max_pixels=settings.PHOTO_MAX_PIXELS,
            min_side=settings.PHOTO_MIN_SIDE,
        )
    except ServiceError as error:
        error.field = "image"  # everything refused so far is about the uploaded file
        raise
    patient = body_site.patient
    existing = Photo.objects.filter(patient=patient, sha256=decoded.sha256).first()
    if existing is not None:
        return existing, False

    if decoded.exif_taken_at is not None:
        taken_at, source = decoded.exif_taken_at, Photo.TakenAtSource.EXIF
    elif taken_at is not None:
        source = Photo.TakenAtSource.CLIENT
    else:
        taken_at, source = timezone.now(), Photo.TakenAtSource.UPLOAD

    photo = Photo(
        patient=patient,
        body_site=body_site,
        taken_at=taken_at,
        taken_at_source=source,
        sha256=decoded.sha256,
        width=decoded.width,
        height=decoded.height,
    )
    # The file is written before the row; if the row cannot be committed the file goes too,
    # so a failed upload leaves nothing behind.
    photo.image.save(f"upload.{decoded.extension}", ContentFile(decoded.content), save=False)
    try:
        with transaction.atomic():
            photo.save()
            transaction.on_commit(lambda: photo_enqueue_analysis(photo_id=photo.pk))
    except IntegrityError:
        photo.image.delete(save=False)
        # A concurrent upload of the same bytes won the race: answer with its photo.
        existing = Photo.objects.filter(patient=patient, sha256=decoded.sha256).first()
        if existing is None:
            raise
        return existing, False
    except BaseException:
        photo.image.delete(save=False)
        raise
    return photo, True


def photo_enqueue_analysis(*, photo_id: int) -> None:
    """Send the analysis task; a broker outage leaves the photo pending for the recovery task."""
    from ..tasks import analyse_photo

    try:
        analyse_photo.delay(photo_id)
    except Exception:
        logger.exception("Could not enqueue the analysis of photo %s; it stays pending", photo_id)


def photo_delete(*, photo: Photo) -> None:
    """Delete a photo, its analyses and every file they own, after the rows are gone."""
    files = [photo.image] + [f for a in photo.analyses.all() for f in (a.mask, a.overlay)]
    with transaction.atomic():
        photo.delete()
        transaction.on_commit(lambda: [f.delete(save=False) for f in files if f])
