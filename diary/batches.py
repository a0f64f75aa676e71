"""celery-batches plumbing for the analysis task, kept apart so that ``tasks.py`` lists tasks.

Upstream ``Batches.flush`` acknowledges on return only and gives the pool no error callback nor
time limits: a child killed mid-batch would leave its messages unacknowledged until the broker's
visibility timeout, and no time limit would apply. :class:`AnalysisBatches` adds what a
late-acknowledged inference task needs.
"""

from __future__ import annotations

import logging

from celery.exceptions import TimeLimitExceeded
from celery_batches import Batches, SimpleRequest
from celery_batches.trace import apply_batches_task
from django.conf import settings

from .services.queueing import task_enqueue
from .task_names import TIME_LIMIT_EXCEEDED

logger = logging.getLogger(__name__)


class AnalysisBatches(Batches):
    """A lost worker requeues the batch's messages (``reject_on_worker_lost``); the hard time
    limit fails the photos (through a task, from the parent process) instead of redelivering them
    forever."""

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
                photo_ids = [photo_id_of(request) for request in requests]
                task_enqueue(TIME_LIMIT_EXCEEDED, args=(photo_ids,))
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


def photo_id_of(request) -> int:
    """The photo id of one ``diary.analyse_photo`` message, given positionally or by name."""
    return int(request.args[0] if request.args else request.kwargs["photo_id"])
