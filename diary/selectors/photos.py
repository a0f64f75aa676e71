from django.db.models import Prefetch, QuerySet

from ..models import Analysis, Photo


def photo_list(*, user) -> QuerySet[Photo]:
    """Photos ``user`` may see, each with its analyses prefetched newest first (two queries)."""
    return (
        Photo.objects.visible_to(user)
        .select_related("body_site")
        .prefetch_related(
            Prefetch(
                "analyses",
                queryset=Analysis.objects.order_by("-created_at", "-id"),
                to_attr="analyses_newest_first",
            )
        )
    )
