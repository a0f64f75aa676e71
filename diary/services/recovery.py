"""Sending photos to the analysis queue again: stale photos, and all photos after an activation.

A photo is "stale" when it stayed ``pending`` or ``processing`` for longer than
``PIPELINE_STALE_AFTER``: its message was never published (the broker was down at upload time),
or was lost with a dead worker. Sending it again is safe because the analysis is idempotent.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from ..models import Analysis, Photo
from .photo_states import photos_transition
from .queueing import photo_analysis_enqueue

logger = logging.getLogger(__name__)

_CHUNK = 500


def photos_requeue_stale(
    *, older_than: timedelta | None = None, dry_run: bool = False, limit: int | None = None
) -> list[int]:
    """Publish the analysis of every stale photo again; returns the ids sent (or to send).

    Each photo's ``status_changed_at`` is moved to now before its message is published, so the
    next run waits a full timeout before sending it once more.
    """
    cutoff = timezone.now() - (older_than or settings.PIPELINE_STALE_AFTER)
    stale = (
        Photo.objects.filter(
            status__in=[Photo.Status.PENDING, Photo.Status.PROCESSING],
            status_changed_at__lt=cutoff,
        )
        .annotate(reanalysis=Exists(Analysis.objects.filter(photo=OuterRef("pk"))))
        .order_by("status_changed_at", "pk")
        .values_list("pk", "reanalysis")
    )
    if limit is not None:
        stale = stale[:limit]
    rows = list(stale)
    if dry_run or not rows:
        return [pk for pk, _ in rows]

    sent: list[int] = []
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        with transaction.atomic():
            photos_transition("requeue", photo_ids=[pk for pk, _ in chunk])
        for pk, reanalysis in chunk:
            # A photo that already has an analysis waits behind new uploads.
            if not _publish(pk, low_priority=reanalysis):
                logger.error("Broker unreachable: %d stale photos not sent", len(rows) - len(sent))
                return sent
            sent.append(pk)
    logger.info("Requeued %d stale photos", len(sent))
    return sent


def photos_reanalyse(*, version_label: str) -> int:
    """Queue every photo without an analysis by ``version_label`` on the low-priority queue;
    returns how many were sent (fewer than found when the broker failed on the way).

    The photos become ``pending`` first, so a message lost on the way is found by the recovery.
    Older analyses are kept.
    """
    missing = (
        Photo.objects.exclude(analyses__model_version=version_label)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    ids = list(missing)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        # A new model gets its own PIPELINE_MAX_ANALYSIS_ATTEMPTS, even on a photo that failed.
        photos_transition("reanalyse", photo_ids=chunk)
        for offset, pk in enumerate(chunk):
            if not _publish(pk, low_priority=True):
                # Counted up to this photo, the ones already sent from this chunk included.
                sent = start + offset
                logger.error(
                    "Broker unreachable after %d of %d photos: re-analysis left to the recovery",
                    sent,
                    len(ids),
                )
                return sent
    logger.info("Queued %d photos for re-analysis by %s", len(ids), version_label)
    return len(ids)


def _publish(photo_id: int, *, low_priority: bool) -> bool:
    queue = settings.PIPELINE_REANALYSIS_QUEUE if low_priority else None
    return photo_analysis_enqueue(photo_id=photo_id, queue=queue)
