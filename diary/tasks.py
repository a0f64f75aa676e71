"""Celery tasks: thin wrappers that take primary keys and call a service.

``diary.analyse_photo`` is a celery-batches task on the ``gpu`` queue: the worker buffers up to
``PIPELINE_BATCH_SIZE`` messages (or waits ``PIPELINE_BATCH_INTERVAL_SECONDS``) and analyses them
with one forward pass. Each message still carries one photo id, so the publisher does not know
about batching and ``PIPELINE_BATCH_SIZE = 1`` analyses photos one by one.
"""

from __future__ import annotations

import logging
import random

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from celery_batches import Batches, SimpleRequest
from celery_batches.trace import apply_batches_task
from django.conf import settings

from .services.analysis import Outcome, photo_fail, photos_analyse
from .services.recovery import photos_reanalyse, photos_requeue_stale

logger = logging.getLogger(__name__)


class AnalysisBatches(Batches):
    """celery-batches with what a late-acknowledged inference task needs.

    Upstream ``Batches.flush`` acknowledges on return only and gives the pool no error callback
    nor time limits: a child killed mid-batch would leave its messages unacknowledged until the
    broker's visibility timeout, and no time limit would apply. Here a lost worker requeues the
    messages (``reject_on_worker_lost``) and the hard time limit fails the photos instead of
    redelivering them forever.
    """

    def flush(self, requests):
        serializable = ([SimpleRequest.from_request(request) for request in requests],)

        def on_return(result):
            for request in requests:
                request.acknowledge()

        def on_error(exc_info):
            error = getattr(exc_info, "exception", exc_info)
            if isinstance(error, TimeLimitExceeded):
                for request in requests:
                    request.acknowledge()
                photo_ids = [_photo_id(request) for request in requests]
                try:
                    analysis_time_limit_exceeded.delay(photo_ids)
                except Exception:
                    logger.exception("Could not report the time limit of photos %s", photo_ids)
                return
            logger.error("Analysis batch lost (%r); requeueing %d messages", error, len(requests))
            for request in requests:
                request.reject(requeue=True)

        return self._pool.apply_async(
            apply_batches_task,
            (self, serializable, 0, None),
            callback=on_return,
            error_callback=on_error,
            soft_timeout=settings.PIPELINE_SOFT_TIME_LIMIT,
            timeout=settings.PIPELINE_TIME_LIMIT,
        )


def _photo_id(request) -> int:
    return int(request.args[0] if request.args else request.kwargs["photo_id"])


@shared_task(
    base=AnalysisBatches,
    name="diary.analyse_photo",
    acks_late=True,
    reject_on_worker_lost=True,
    flush_every=max(1, settings.PIPELINE_BATCH_SIZE),
    flush_interval=settings.PIPELINE_BATCH_INTERVAL_SECONDS,
)
def analyse_photo(requests: list[SimpleRequest]) -> None:
    """Analyse the photos of a batch of messages, each ``(photo_id, attempt=0)``."""
    attempts: dict[int, int] = {}
    for request in requests:
        photo_id = _photo_id(request)
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
            _retry(photo_id, attempt, error)
        return
    for result in results:
        if result.outcome is Outcome.RETRY:
            _retry(result.photo_id, attempts[result.photo_id], result.error)


def _retry(photo_id: int, attempt: int, error: BaseException | None) -> None:
    """Publish the photo again with exponential backoff and jitter, or give up and fail it."""
    if attempt >= settings.PIPELINE_MAX_RETRIES:
        try:
            photo_fail(
                photo_id=photo_id,
                reason=f"The analysis failed after {attempt + 1} attempts ({error}).",
            )
        except Exception:
            logger.exception("Could not mark photo %s failed; left to the recovery", photo_id)
        return
    countdown = min(settings.PIPELINE_RETRY_BACKOFF_MAX, 2**attempt) * random.uniform(0.5, 1.0)
    try:
        analyse_photo.apply_async((photo_id,), {"attempt": attempt + 1}, countdown=countdown)
    except Exception:
        logger.exception("Could not schedule a retry of photo %s; left to recovery", photo_id)


def _time_limit_reason() -> str:
    return f"The analysis took longer than the {settings.PIPELINE_SOFT_TIME_LIMIT} s time limit."


@shared_task(name="diary.analysis_time_limit_exceeded", acks_late=True)
def analysis_time_limit_exceeded(photo_ids: list[int]) -> None:
    for photo_id in photo_ids:
        photo_fail(photo_id=photo_id, reason=_time_limit_reason())


@shared_task(name="diary.reanalyse_photos", acks_late=True)
def reanalyse_photos() -> int:
    """After a model activation: queue every photo it has not analysed yet (low priority)."""
    from .segmenters import active_version_label

    return photos_reanalyse(version_label=active_version_label())


@shared_task(name="diary.requeue_stale_photos", acks_late=True)
def requeue_stale_photos() -> int:
    """Periodic (celery beat): send photos stuck in pending or processing again."""
    return len(photos_requeue_stale())
