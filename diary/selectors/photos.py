from django.db.models import Prefetch, QuerySet

from ..models import Analysis, Correction, Photo


def photo_list(*, user) -> QuerySet[Photo]:
    """Photos ``user`` may see, each with its analyses and clinicians' corrections prefetched
    newest first (three queries)."""
    return (
        Photo.objects.visible_to(user)
        .select_related("body_site")
        .prefetch_related(
            Prefetch(
                "analyses",
                queryset=Analysis.objects.order_by("-created_at", "-id"),
                to_attr="analyses_newest_first",
            ),
            corrections_newest_first(),
        )
    )


def corrections_newest_first() -> Prefetch:
    """A photo's corrections newest first, where ``Photo.latest_correction`` looks for them."""
    return Prefetch(
        "corrections",
        queryset=Correction.objects.order_by("-created_at", "-id"),
        to_attr="corrections_newest_first",
    )
