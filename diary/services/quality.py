"""Photo quality: what is stored of the checks at upload and of the lesion-at-the-border check
with the analysis, and a clinician's decision to include a refused photo (the dry run is
``photo_quality_dry_run`` in photos.py, beside the upload it mirrors).

The checks themselves are ``segmentation/severity/photo_quality.py`` (no Django); this module
only decides when they run and what is stored. docs/quality.md says what each check measures.
"""

from __future__ import annotations

import numpy as np
from django.db import transaction
from django.utils import timezone
from PIL import Image

from segmentation.severity.photo_quality import (
    LESION_CUT,
    check_lesion_border,
    check_photo,
    quality_ok,
)

from ..audit import audit_touch
from ..models import AuditEvent, Photo, User
from .errors import ServiceError


def photo_quality_measure(image: Image.Image) -> list[dict]:
    """The cheap checks of one decoded photo, as stored on the photo (and served)."""
    return [check.as_dict() for check in check_photo(image)]


def photo_quality_fields(checks: list[dict]) -> dict:
    """The Photo fields that hold ``checks``: the checks and whether they all passed."""
    return {"quality_checks": checks, "quality_ok": quality_ok(checks)}


def photo_quality_with_lesion(checks: list[dict], mask: np.ndarray, *, baseline: bool) -> dict:
    """``checks`` with the lesion-at-the-border check of ``mask`` (the newest analysis's)
    replacing any earlier one, as Photo fields. ``baseline``: the colour-threshold baseline made
    the mask (held to its own threshold, docs/quality.md)."""
    kept = [check for check in checks if check.get("code") != LESION_CUT]
    lesion = check_lesion_border(mask, baseline=baseline)
    return photo_quality_fields([*kept, lesion.as_dict()])


def photo_quality_include_set(*, photo: Photo, user: User, include: bool) -> Photo:
    """A clinician (or staff) counts a photo the checks refused in the trends, or stops doing so.

    Patients cannot: the checks protect the series they would otherwise bend. The write is
    audited as an update of the photo's patient.
    """
    if not (user.is_clinician or user.sees_all_patients):
        raise ServiceError(
            "Only a clinician can include a photo that the quality checks refused.",
            code="permission_denied",
            status=403,
        )
    with transaction.atomic():
        photo.quality_included_by = user if include else None
        photo.quality_included_at = timezone.now() if include else None
        photo.save(update_fields=["quality_included_by", "quality_included_at"])
    audit_touch(patient_ids=[photo.patient_id], action=AuditEvent.Action.UPDATE)
    return photo


def photo_quality_summary(photo: Photo) -> dict:
    """What the API serves as ``quality``: ``ok`` is true when nothing was refused (a photo
    uploaded before the checks existed has no checks and is ok)."""
    return {
        "ok": photo.quality_ok is not False,
        "checks": list(photo.quality_checks or []),
        "counts_in_trends": photo.counts_in_trends,
        "included_by_clinician": photo.quality_included_at is not None,
    }
