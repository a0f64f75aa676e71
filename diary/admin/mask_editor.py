"""The mask editor: a clinician corrects a photo's lesion mask in the browser (docs/corrections.md).

Mixed into PhotoAdmin (diary/admin/photos.py), so the photo lookup goes through its
``visible_to`` queryset, and further narrowed to the users who may correct a mask
(``correction_allowed``): anyone else gets a 404, as from the API. The page only draws; it saves
through ``POST /api/v1/photos/{id}/corrections/`` with the admin session, so the validation,
measuring and storage are the API's (diary/services/corrections.py), not a second copy here.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import Http404, HttpRequest
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from ..models import Correction, Photo
from ..models.photos import MASK_SOURCE_CLINICIAN
from ..services.corrections import correction_allowed

#: How many of a photo's corrections its admin page lists (the API lists all of them).
HISTORY_SHOWN = 20


class PhotoMaskEditorMixin:
    """Adds ``<pk>/mask-editor/`` and the photo page's link and correction history."""

    def get_urls(self):
        view = self.admin_site.admin_view(self.mask_editor_view)
        return [
            path("<int:pk>/mask-editor/", view, name="diary_photo_mask_editor"),
            *super().get_urls(),
        ]

    def _correctable(self, request: HttpRequest, pk: int) -> Photo:
        # get_queryset is PatientScopedAdmin's: already narrowed to visible_to(request.user).
        photo = self.get_queryset(request).filter(pk=pk).first()
        if photo is None or not correction_allowed(request.user):
            raise Http404
        return photo

    def mask_editor_view(self, request: HttpRequest, pk: int) -> TemplateResponse:
        photo = self._correctable(request, pk)
        analysis = photo.latest_analysis
        context = {
            **self.admin_site.each_context(request),
            "title": f"Correct the mask of photo {photo.pk}",
            "opts": self.model._meta,
            "photo": photo,
            "analysis": analysis,
            "latest_correction": photo.latest_correction,
            "mask_source": photo.mask_source,
            "corrections_count": Correction.objects.filter(photo=photo).count(),
            "progression_url": reverse("admin:diary_patient_progression", args=[photo.patient_id])
            + f"#photo-{photo.pk}",
        }
        if analysis is not None:
            context["urls"] = {
                "image": reverse("admin:diary_photo_file", args=[photo.pk, "image"]),
                "mask": reverse("admin:diary_photo_file", args=[photo.pk, "mask"]),
                "model_mask": reverse("admin:diary_photo_file", args=[photo.pk, "model_mask"]),
                "save": reverse("api:photo-corrections", kwargs={"pk": photo.pk}),
            }
        return TemplateResponse(request, "admin/diary/photo/mask_editor.html", context)

    @admin.display(description="mask correction")
    def mask_editor_link(self, photo: Photo) -> str:
        if photo.latest_analysis is None:
            return "not analysed yet: no mask to correct"
        url = reverse("admin:diary_photo_mask_editor", args=[photo.pk])
        clinician = photo.mask_source == MASK_SOURCE_CLINICIAN
        source = "a clinician's correction" if clinician else "the model's mask"
        return format_html(
            '<a class="mask-editor-link" href="{}">Correct the mask</a> (in force: {})', url, source
        )

    @admin.display(description="corrections (newest first)")
    def corrections_history(self, photo: Photo) -> str:
        rows = (
            Correction.objects.filter(photo=photo)
            .select_related("corrected_by")
            .prefetch_related("scores")[:HISTORY_SHOWN]
        )
        lines = [_history_line(correction) for correction in rows]
        if not lines:
            return "none: the model's mask is in force"
        return format_html(
            '<ul class="corrections-history">{}</ul>',
            format_html_join("", "<li>{}</li>", ((line,) for line in lines)),
        )


def _history_line(correction: Correction) -> str:
    """Who corrected, when, which model's mask, and how far that mask was from the correction."""
    score = next(
        (s for s in correction.scores.all() if s.analysis_id == correction.analysis_id), None
    )
    who = correction.corrected_by.username if correction.corrected_by else "a deleted user"
    when = f"{correction.created_at:%Y-%m-%d %H:%M}"
    if score is None:
        figures = "not scored"
    else:
        difference = 100 * score.area_difference
        figures = f"F1 {score.f1:.3f}, IoU {score.iou:.3f}, area difference {difference:+.1f} %"
    return f"{when} by {who}, model {correction.model_version}: {figures}"
