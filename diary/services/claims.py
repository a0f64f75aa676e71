"""Claiming photos for an analysis, and counting the analyses that never reported back.

A worker that dies mid-analysis (out of memory, a native crash) cannot record anything; its
messages go back to the queue (``reject_on_worker_lost``) and are delivered again. The photo's
``analysis_attempts`` counts those silent attempts: it is raised when an analysis starts and
cleared when one reports back (stored, or a transient error to retry). A photo whose count
reaches ``PIPELINE_MAX_ANALYSIS_ATTEMPTS`` ends ``failed`` with :data:`POISON_PHOTO_REASON`
instead of killing workers forever.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..models import Analysis, Photo
from .outcomes import Outcome, PhotoResult
from .photo_states import photo_state_set, photos_state_save

logger = logging.getLogger(__name__)

#: What a patient reads when their photo's analyses kept killing the worker.
POISON_PHOTO_REASON = "This photo could not be analysed; please take another."


@transaction.atomic
def photos_claim(
    *, photo_ids: Sequence[int], version_label: str, out: dict[int, PhotoResult]
) -> tuple[list[Photo], list[Photo]]:
    """Lock the photos, skip those already analysed by ``version_label``, fail those whose
    analyses killed their worker too often, mark the rest ``processing``: ``(fresh, suspects)``.

    Fresh photos are counted one attempt here; suspects (an earlier attempt never reported back)
    are counted by the caller just before each runs alone. Locks are taken in primary-key order
    so concurrent batches cannot deadlock."""
    photos = list(Photo.objects.select_for_update().filter(pk__in=photo_ids).order_by("pk"))
    found = {photo.pk for photo in photos}
    for photo_id in photo_ids:
        if photo_id not in found:
            out[photo_id] = PhotoResult(photo_id, Outcome.SKIPPED, "The photo no longer exists.")
    analysed = set(
        Analysis.objects.filter(photo__in=photos, model_version=version_label).values_list(
            "photo_id", flat=True
        )
    )
    now = timezone.now()
    fresh, suspects, changed = [], [], []
    for photo in photos:
        exhausted = photo.analysis_attempts >= settings.PIPELINE_MAX_ANALYSIS_ATTEMPTS
        if exhausted and photo.pk not in analysed:
            out[photo.pk] = _photo_fail_poison(photo, now)
            continue
        # A redelivered message whose analysis was already committed only settles the status.
        event = "settle" if photo.pk in analysed else "claim"
        fields = photo_state_set(photo, event, now=now)
        if photo.pk in analysed:
            out[photo.pk] = PhotoResult(photo.pk, Outcome.SKIPPED, "Already analysed.")
            if photo.analysis_attempts:  # the worker died after storing it: no crash to count
                photo.analysis_attempts = 0
                fields.append("analysis_attempts")
        elif photo.analysis_attempts:
            suspects.append(photo)
        else:
            photo.analysis_attempts = 1
            fields.append("analysis_attempts")
            fresh.append(photo)
        if fields:
            changed.append(photo)
    # One UPDATE for the batch rather than one per photo.
    photos_state_save(changed)
    return fresh, suspects


def _photo_fail_poison(photo: Photo, now: datetime) -> PhotoResult:
    """Fail a photo whose analyses never reported back PIPELINE_MAX_ANALYSIS_ATTEMPTS times."""
    fields = photo_state_set(photo, "give_up", now=now, error_message=POISON_PHOTO_REASON)
    photo.save(update_fields=fields)
    logger.warning(
        "Photo %s failed: %d analyses never reported back (the worker died); not retried",
        photo.pk,
        photo.analysis_attempts,
    )
    return PhotoResult(photo.pk, Outcome.FAILED, POISON_PHOTO_REASON)


def photo_attempts_reset(*, photo_id: int) -> None:
    """The analysis of ``photo_id`` reported back (a transient error to retry): not a crash."""
    Photo.objects.filter(pk=photo_id).update(analysis_attempts=0)


def photo_attempt_count(*, photo: Photo) -> None:
    """Count one attempt of a suspect photo, committed before it runs (and maybe kills us)."""
    Photo.objects.filter(pk=photo.pk).update(analysis_attempts=F("analysis_attempts") + 1)
