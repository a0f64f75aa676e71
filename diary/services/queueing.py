"""Publishing the diary's tasks: the one place that sends an analysis to the broker.

Every path that wants a photo analysed calls :func:`photo_analysis_enqueue`: the upload (once the
row is committed), the recovery of stale photos, the re-analysis after a model activation and the
retry of a transient error. Tasks are looked up by name in the Celery registry, so this module
never imports ``diary.tasks``: the tasks depend on the services, not the reverse
(``DiaryConfig.ready`` registers them).

A publish that fails (broker down) is logged and reported as ``False``; the photo stays
``pending`` and the recovery task sends it again later.
"""

from __future__ import annotations

import logging
import random
from typing import Any

from celery import current_app
from django.conf import settings

from ..task_names import ANALYSE_PHOTO, REANALYSE_PHOTOS
from .claims import photo_attempts_reset
from .photo_states import photo_fail

logger = logging.getLogger(__name__)


def task_enqueue(
    name: str,
    *,
    args: tuple = (),
    kwargs: dict[str, Any] | None = None,
    queue: str | None = None,
    priority: int | None = None,
    countdown: float | None = None,
) -> bool:
    """Publish the registered task ``name``; ``False`` (logged) when the broker refused it."""
    options: dict[str, Any] = {}
    if kwargs:
        options["kwargs"] = kwargs
    if queue is not None:
        options["queue"] = queue
    if priority is not None:
        options["priority"] = priority
    if countdown is not None:
        options["countdown"] = countdown
    try:
        current_app.tasks[name].apply_async(args=args, **options)
    except Exception:
        logger.exception("Could not publish %s%r", name, args)
        return False
    return True


def photo_analysis_enqueue(
    *,
    photo_id: int,
    queue: str | None = None,
    priority: int | None = None,
    countdown: float | None = None,
    attempt: int = 0,
) -> bool:
    """Send ``diary.analyse_photo`` for one photo (default queue: the task's route, ``gpu``).

    ``attempt`` counts the retries after transient errors; the task retries up to
    ``PIPELINE_MAX_RETRIES``.
    """
    return task_enqueue(
        ANALYSE_PHOTO,
        args=(photo_id,),
        kwargs={"attempt": attempt} if attempt else None,
        queue=queue,
        priority=priority,
        countdown=countdown,
    )


def photos_reanalysis_enqueue() -> bool:
    """Ask the light worker to queue the re-analysis (the web request does not do it itself)."""
    return task_enqueue(REANALYSE_PHOTOS)


def photo_analysis_retry(*, photo_id: int, attempt: int, error: BaseException | None) -> None:
    """Publish the photo again with exponential backoff and jitter, or give up and fail it."""
    try:
        photo_attempts_reset(photo_id=photo_id)  # it reported back: not a crash
    except Exception:
        logger.exception("Could not reset the attempts of photo %s", photo_id)
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
    if not photo_analysis_enqueue(photo_id=photo_id, countdown=countdown, attempt=attempt + 1):
        logger.error("Retry of photo %s not scheduled; left to the recovery", photo_id)
