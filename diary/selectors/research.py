"""What may leave the database for research (docs/corrections.md): consenting patients only."""

from __future__ import annotations

import datetime as dt

from django.db.models import OuterRef, QuerySet, Subquery

from ..models import Correction, Photo
from .photos import corrections_newest_first


def research_photos(*, since: dt.datetime | None = None) -> QuerySet[Photo]:
    """Photos of patients whose research consent is in force that have a clinician's correction,
    each with ``corrections_newest_first`` prefetched (``photo.latest_correction`` is the mask in
    force). ``since``: only photos whose correction in force was saved then or later."""
    newest = Correction.objects.filter(photo=OuterRef("pk")).order_by("-created_at", "-id")
    photos = (
        Photo.objects.filter(patient__research_consent=True)
        .annotate(correction_in_force_at=Subquery(newest.values("created_at")[:1]))
        .filter(correction_in_force_at__isnull=False)
        .select_related("body_site")
        .prefetch_related(corrections_newest_first())
        .order_by("patient_id", "taken_at", "id")
    )
    if since is not None:
        photos = photos.filter(correction_in_force_at__gte=since)
    return photos
