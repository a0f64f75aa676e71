"""A clinician chooses a body site's baseline photo (the photo the others are aligned to)."""

from __future__ import annotations

from django.db import transaction

from ..models import Photo
from ..services.alignment import body_site_baseline_set


class BodySiteBaselineMixin:
    """On the body site's change form: ``alignment_baseline`` offers the site's analysed photos
    only, and saving another one realigns the site's photos (``body_site_baseline_set``)."""

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        field = form.base_fields.get("alignment_baseline")
        if field is not None:
            photos = Photo.objects.visible_to(request.user).filter(analyses__isnull=False)
            field.queryset = (
                photos.filter(body_site=obj).distinct().order_by("taken_at")
                if obj is not None
                else Photo.objects.none()
            )
            field.label_from_instance = _photo_label
        return form

    def save_model(self, request, obj, form, change) -> None:
        chosen = form.cleaned_data.get("alignment_baseline")
        if change and "alignment_baseline" in form.changed_data:
            with transaction.atomic():
                super().save_model(request, obj, form, change)
                body_site_baseline_set(body_site=obj, photo=chosen)
        else:
            super().save_model(request, obj, form, change)


def _photo_label(photo: Photo) -> str:
    return f"{photo.taken_at:%Y-%m-%d} (photo {photo.pk})"
