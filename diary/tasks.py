"""Celery tasks: thin wrappers that take primary keys and call a service.

``diary.analyse_photo`` is a celery-batches task on the ``gpu`` queue: the worker buffers up to
``PIPELINE_BATCH_SIZE`` messages (or waits ``PIPELINE_BATCH_INTERVAL_SECONDS``) and analyses them
with one forward pass. Each message still carries one photo id, so the publisher does not know
about batching and ``PIPELINE_BATCH_SIZE = 1`` analyses photos one by one. The celery-batches
plumbing (acknowledgement, time limits, a lost worker) is in ``diary/batches.py``; the publishing
of tasks in ``diary/services/queueing.py``.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery_batches import SimpleRequest
from django.conf import settings

from .batches import AnalysisBatches, photo_id_of
from .services.alignment import body_site_realign
from .services.analysis import Outcome, photos_analyse
from .services.files import stored_files_sweep
from .services.photo_states import photo_fail
from .services.queueing import photo_analysis_retry
from .services.recovery import photos_reanalyse, photos_requeue_stale
from .task_names import (
    ANALYSE_PHOTO,
    REALIGN_BODY_SITE,
    REANALYSE_PHOTOS,
    REQUEUE_STALE_PHOTOS,
    SWEEP_STORED_FILES,
    TIME_LIMIT_EXCEEDED,
)
from .versions import active_version_label

logger = logging.getLogger(__name__)


@shared_task(
    base=AnalysisBatches,
    name=ANALYSE_PHOTO,
    acks_late=True,
    reject_on_worker_lost=True,
    flush_every=max(1, settings.PIPELINE_BATCH_SIZE),
    flush_interval=settings.PIPELINE_BATCH_INTERVAL_SECONDS,
)
def analyse_photo(requests: list[SimpleRequest]) -> None:
    """Analyse the photos of a batch of messages, each ``(photo_id, attempt=0)``."""
    attempts: dict[int, int] = {}
    for request in requests:
        photo_id = photo_id_of(request)
        attempts[photo_id] = max(attempts.get(photo_id, 0), int(request.kwargs.get("attempt", 0)))
    try:
        results = photos_analyse(photo_ids=list(attempts))
    except SoftTimeLimitExceeded:
        for photo_id in attempts:
            photo_fail(photo_id=photo_id, reason=_time_limit_reason())
        return
    except Exception as error:
        # The batch as a whole could not run (database down, model not loadable): retry all.
        logger.exception("Analysis batch of %d photos failed", len(attempts))
        for photo_id, attempt in attempts.items():
            photo_analysis_retry(photo_id=photo_id, attempt=attempt, error=error)
        return
    for result in results:
        if result.outcome is Outcome.RETRY:
            photo_analysis_retry(
                photo_id=result.photo_id, attempt=attempts[result.photo_id], error=result.error
            )


def _time_limit_reason() -> str:
    return f"The analysis took longer than the {settings.PIPELINE_SOFT_TIME_LIMIT} s time limit."


@shared_task(name=TIME_LIMIT_EXCEEDED, acks_late=True)
def analysis_time_limit_exceeded(photo_ids: list[int]) -> None:
    for photo_id in photo_ids:
        photo_fail(photo_id=photo_id, reason=_time_limit_reason())


@shared_task(name=REANALYSE_PHOTOS, acks_late=True)
def reanalyse_photos() -> int:
    """After a model activation: queue every photo it has not analysed yet (low priority)."""
    return photos_reanalyse(version_label=active_version_label())


@shared_task(name=REQUEUE_STALE_PHOTOS, acks_late=True)
def requeue_stale_photos() -> int:
    """Periodic (celery beat): send photos stuck in pending or processing again."""
    return len(photos_requeue_stale())


@shared_task(name=SWEEP_STORED_FILES, acks_late=True)
def sweep_stored_files() -> int:
    """Periodic (celery beat): remove stored files that no row names any more."""
    return len(stored_files_sweep())


@shared_task(name=REALIGN_BODY_SITE, acks_late=True)
def realign_body_site(body_site_id: int) -> int:
    """After a body site's baseline photo changed: register its photos to the new one."""
    return body_site_realign(body_site_id=body_site_id)
