"""Photo uploads: store atomically, then enqueue the analysis once the row is committed."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import BodySite, Photo
from .dates import taken_at_is_plausible, taken_at_localize, taken_at_validate
from .errors import ServiceError
from .files import files_delete, files_delete_on_commit
from .images import decode_photo, upload_read_limited
from .quality import photo_quality_fields, photo_quality_measure
from .queueing import photo_analysis_enqueue

logger = logging.getLogger(__name__)


def photo_create(
    *, body_site: BodySite, upload: UploadedFile, taken_at: datetime | None = None
) -> tuple[Photo, bool]:
    """Store an uploaded photo for ``body_site``'s patient and enqueue its analysis.

    Returns ``(photo, created)``: the same bytes uploaded again for the same patient return the
    photo stored the first time, with ``created=False``, unchanged (this call's ``body_site`` and
    ``taken_at`` are not applied).

    ``taken_at`` without an offset is the patient's local time; an implausible one (future,
    before 1990 or the patient's birth year) raises ``ValidationError`` on ``taken_at``. An
    implausible EXIF date (a camera clock never set) is ignored in favour of the next source.
    """
    patient = body_site.patient
    if taken_at is not None:
        taken_at = taken_at_localize(taken_at, patient=patient)
        try:
            taken_at_validate(taken_at, patient=patient)
        except ValidationError as error:
            raise ValidationError({"taken_at": error.error_list}) from None
    decoded = _decode_upload(upload)
    existing = Photo.objects.filter(patient=patient, sha256=decoded.sha256).first()
    if existing is not None:
        return existing, False

    exif_taken_at = decoded.exif_taken_at
    if exif_taken_at is not None:
        exif_taken_at = taken_at_localize(exif_taken_at, patient=patient)
        if not taken_at_is_plausible(exif_taken_at, patient=patient):
            logger.info("Ignoring the implausible EXIF date %s of an upload", exif_taken_at)
            exif_taken_at = None
    if exif_taken_at is not None:
        taken_at, source = exif_taken_at, Photo.TakenAtSource.EXIF
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
        # The cheap quality checks run here, so that the answer can already say "too dark".
        **photo_quality_fields(photo_quality_measure(decoded.image)),
    )
    # The file is written before the row; if the row cannot be committed the file goes too,
    # so a failed upload leaves nothing behind.
    photo.image.save(f"upload.{decoded.extension}", ContentFile(decoded.content), save=False)
    try:
        with transaction.atomic():
            photo.save()
            # A broker outage leaves the photo pending for the recovery task.
            transaction.on_commit(lambda: photo_analysis_enqueue(photo_id=photo.pk))
    except IntegrityError:
        files_delete([photo.image])
        # A concurrent upload of the same bytes won the race: answer with its photo.
        existing = Photo.objects.filter(patient=patient, sha256=decoded.sha256).first()
        if existing is None:
            raise
        return existing, False
    except BaseException:
        files_delete([photo.image])
        raise
    return photo, True


def photo_quality_dry_run(*, upload: UploadedFile) -> dict:
    """The cheap quality checks of an upload, storing nothing (no file, no row): the upload is
    refused exactly as :func:`photo_create` refuses it, with the same errors on ``image``."""
    checks = photo_quality_measure(_decode_upload(upload).image)
    return {"ok": photo_quality_fields(checks)["quality_ok"], "checks": checks}


def _decode_upload(upload: UploadedFile):
    try:
        return decode_photo(
            upload_read_limited(upload, settings.PHOTO_MAX_UPLOAD_BYTES),
            max_pixels=settings.PHOTO_MAX_PIXELS,
            min_side=settings.PHOTO_MIN_SIDE,
        )
    except ServiceError as error:
        error.field = "image"  # everything refused so far is about the uploaded file
        raise


def photo_delete(*, photo: Photo) -> None:
    """Delete a photo, its analyses and every file they own, after the rows are gone.

    A file that storage refuses to remove does not fail the deletion (the rows are gone): it is
    logged and left to the sweep (``diary/services/files.py``).
    """
    files = [photo.image] + [f for a in photo.analyses.all() for f in (a.mask, a.overlay)]
    with transaction.atomic():
        photo.delete()
        files_delete_on_commit(files)
