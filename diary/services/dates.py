"""When a photo was taken: the one rule for the dates a diary accepts, and camera-local times."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from ..models import Patient

# No phone photo of a lesion predates 1990; a camera whose clock was never set says 1970 or 2000.
EARLIEST_TAKEN_AT = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)


def taken_at_localize(taken_at: dt.datetime, *, patient: Patient) -> dt.datetime:
    """An aware datetime: a naive one (a camera's clock, a client's time without an offset) is
    read in the patient's time zone, not the server's."""
    if timezone.is_aware(taken_at):
        return taken_at
    return timezone.make_aware(taken_at, patient.zone)


def taken_at_validate(
    taken_at: dt.datetime, *, patient: Patient, now: dt.datetime | None = None
) -> None:
    """Raise ``ValidationError`` unless ``taken_at`` (aware) is a plausible date for a photo of
    ``patient``: not later than now plus ``PHOTO_TAKEN_AT_CLOCK_SKEW``, not before 1990, not
    before the patient's birth year began (in their time zone)."""
    now = now or timezone.now()
    latest = now + settings.PHOTO_TAKEN_AT_CLOCK_SKEW
    if taken_at > latest:
        raise ValidationError(
            "%(taken_at)s is in the future (the server's time is %(now)s).",
            code="in_future",
            params={"taken_at": taken_at.isoformat(), "now": now.isoformat(timespec="seconds")},
        )
    if taken_at < EARLIEST_TAKEN_AT:
        raise ValidationError(
            "%(taken_at)s is before 1990.",
            code="too_early",
            params={"taken_at": taken_at.isoformat()},
        )
    if patient.birth_year and taken_at < dt.datetime(patient.birth_year, 1, 1, tzinfo=patient.zone):
        raise ValidationError(
            "%(taken_at)s is before the patient's birth year (%(year)s).",
            code="before_birth",
            params={"taken_at": taken_at.isoformat(), "year": patient.birth_year},
        )


def taken_at_is_plausible(taken_at: dt.datetime, *, patient: Patient) -> bool:
    try:
        taken_at_validate(taken_at, patient=patient)
    except ValidationError:
        return False
    return True
