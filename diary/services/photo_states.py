"""A photo's analysis state: the one module that writes ``Photo.status``.

Every change of state is an event of :data:`TRANSITIONS`, which says from which states it may
happen and which state it leads to. The writes filter on the allowed sources in the same UPDATE,
so a late or redelivered message can never move a photo backwards (a ``failed`` photo that an
analysis finished stays ``done``). ``tests/diary/test_photo_states.py`` fails if another module
writes the status.

    pending --claim--> processing --store--> done
       ^                    |
       |                    +--fail--> failed
       +--requeue (stale pending/processing) / reanalyse (any state, new model)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

from django.db import transaction
from django.utils import timezone

from ..models import Photo
from .outcomes import Outcome, PhotoResult

logger = logging.getLogger(__name__)

Status = Photo.Status
ANY = frozenset(Status)
STATE_FIELDS = frozenset({"status", "status_changed_at", "error_message", "analysis_attempts"})


class Transition(NamedTuple):
    sources: frozenset[str]
    target: str
    #: What else the event sets: an error message cleared, the crash count reset.
    clears_error: bool
    resets_attempts: bool


TRANSITIONS: dict[str, Transition] = {
    # A worker takes the photo (a redelivered message may find it in any state).
    "claim": Transition(ANY, Status.PROCESSING, clears_error=True, resets_attempts=False),
    # An analysis was stored, or a redelivered message found it already stored.
    "store": Transition(ANY, Status.DONE, clears_error=True, resets_attempts=True),
    "settle": Transition(ANY, Status.DONE, clears_error=True, resets_attempts=False),
    # Never over a finished analysis.
    "fail": Transition(
        frozenset({Status.PENDING, Status.PROCESSING, Status.FAILED}),
        Status.FAILED,
        clears_error=False,
        resets_attempts=True,
    ),
    # Its analyses killed the worker too often: the count stays, so redeliveries are refused.
    "give_up": Transition(
        frozenset({Status.PENDING, Status.PROCESSING, Status.FAILED}),
        Status.FAILED,
        clears_error=False,
        resets_attempts=False,
    ),
    # The recovery sends a photo whose message was lost once more.
    "requeue": Transition(
        frozenset({Status.PENDING, Status.PROCESSING}),
        Status.PENDING,
        clears_error=False,
        resets_attempts=False,
    ),
    # A new model gets its own attempts, even on a photo that failed.
    "reanalyse": Transition(ANY, Status.PENDING, clears_error=True, resets_attempts=True),
}


def photos_transition(
    event: str,
    *,
    photo_ids: Iterable[int],
    error_message: str = "",
    also: Mapping[str, object] | None = None,
) -> int:
    """Apply ``event`` to the photos that are in one of its source states; how many moved.
    ``also`` are other fields written in the same UPDATE (never the state's own)."""
    transition = TRANSITIONS[event]
    if also and set(also) & STATE_FIELDS:
        raise ValueError(f"the state's fields are the table's: {sorted(set(also) & STATE_FIELDS)}")
    fields: dict = {
        **(also or {}),
        "status": transition.target,
        "status_changed_at": timezone.now(),
    }
    if transition.clears_error or error_message:
        fields["error_message"] = error_message
    if transition.resets_attempts:
        fields["analysis_attempts"] = 0
    return Photo.objects.filter(pk__in=list(photo_ids), status__in=transition.sources).update(
        **fields
    )


def photo_state_set(
    photo: Photo, event: str, *, now: datetime, error_message: str = ""
) -> list[str]:
    """Apply ``event`` to a photo held in memory (saved by the caller with the returned fields,
    e.g. in one ``bulk_update`` for a batch); no field when the photo is already there."""
    transition = TRANSITIONS[event]
    if photo.status not in transition.sources:
        raise ValueError(f"photo {photo.pk}: no {event!r} from {str(photo.status)!r}")
    if photo.status == transition.target:
        return []
    photo.status, photo.status_changed_at = transition.target, now
    fields = ["status", "status_changed_at"]
    if transition.clears_error or error_message:
        photo.error_message = error_message
        fields.append("error_message")
    if transition.resets_attempts:
        photo.analysis_attempts = 0
        fields.append("analysis_attempts")
    return fields


def photos_state_save(photos: Sequence[Photo]) -> None:
    """Save a batch changed by :func:`photo_state_set` (and the attempts counted with it) in
    one UPDATE rather than one per photo."""
    Photo.objects.bulk_update(photos, sorted(STATE_FIELDS))


@transaction.atomic
def photo_fail(*, photo_id: int, reason: str) -> PhotoResult:
    """Mark a photo ``failed`` with ``reason``, unless an analysis already finished it."""
    updated = photos_transition("fail", photo_ids=[photo_id], error_message=reason)
    if updated:
        logger.warning("Photo %s failed: %s", photo_id, reason)
    return PhotoResult(photo_id, Outcome.FAILED if updated else Outcome.SKIPPED, reason)
