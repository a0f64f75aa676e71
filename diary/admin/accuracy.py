"""The model's accuracy in the clinic: each model version's masks against clinicians' corrections.

Mixed into PhotoAdmin (diary/admin/photos.py), so the pages are open to whoever may view photos
(staff and clinicians) and every figure comes from photos ``visible_to(request.user)``: a
clinician's figures are those of their own patients. The registry's page of a model links here
(segmentation/admin.py); the figures are :func:`diary.selectors.accuracy.model_accuracy`'s, the
same as ``manage.py evaluate_model --corrections`` prints.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse

from segmentation.models import SegmentationModel

from ..selectors.accuracy import AccuracyFigures, model_accuracy, scored_model_versions
from ..versions import active_version_label

#: The mask editor's URL name, where the mask editor is installed (linked if it exists).
MASK_EDITOR_URL = "admin:diary_photo_mask_editor"


class ModelAccuracyMixin:
    """Adds ``accuracy/`` (every scored model version) and ``accuracy/<version>/`` (its figures)."""

    def get_urls(self):
        index = self.admin_site.admin_view(self.accuracy_index_view)
        page = self.admin_site.admin_view(self.accuracy_view)
        return [
            path("accuracy/", index, name="diary_accuracy_index"),
            # ``path``: a version label holds colons, and a registered model's name may hold "/".
            path("accuracy/<path:model_version>/", page, name="diary_model_accuracy"),
            *super().get_urls(),
        ]

    def _check_view(self, request: HttpRequest) -> None:
        if not self.has_view_permission(request):
            raise PermissionDenied

    def accuracy_index_view(self, request: HttpRequest) -> TemplateResponse:
        self._check_view(request)
        names = _registered_names()
        active = active_version_label()
        rows = []
        for version in scored_model_versions(user=request.user):
            figures = model_accuracy(model_version=version, user=request.user, worst=0).overall
            rows.append(
                {
                    "version": version,
                    "name": names.get(version, ""),
                    "active": version == active,
                    "figures": _formatted(figures),
                    "url": reverse("admin:diary_model_accuracy", args=[version]),
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "title": "Model accuracy in the clinic",
            "opts": self.model._meta,
            "rows": rows,
            "active_version": active,
            "active_url": reverse("admin:diary_model_accuracy", args=[active]),
        }
        return TemplateResponse(request, "admin/diary/accuracy/index.html", context)

    def accuracy_view(self, request: HttpRequest, model_version: str) -> TemplateResponse:
        self._check_view(request)
        accuracy = model_accuracy(model_version=model_version, user=request.user)
        name = _registered_names().get(model_version)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Accuracy in the clinic of {name or model_version}",
            "opts": self.model._meta,
            "model_version": model_version,
            "model_name": name,
            "overall": _formatted(accuracy.overall),
            "regions": [
                {"region": r.region, "label": r.label, "figures": _formatted(r.figures)}
                for r in accuracy.by_region
            ],
            "worst": [
                {
                    "score": score,
                    "f1": f"{score.f1:.3f}",
                    "iou": f"{score.iou:.3f}",
                    "area_difference": _percent(score.area_difference, signed=True),
                    "photo_url": reverse("admin:diary_photo_change", args=[score.photo_id]),
                    "image_url": reverse("admin:diary_photo_file", args=[score.photo_id, "image"]),
                    "editor_url": _mask_editor_url(score.photo_id),
                }
                for score in accuracy.worst
            ],
            "index_url": reverse("admin:diary_accuracy_index"),
        }
        return TemplateResponse(request, "admin/diary/accuracy/model.html", context)


def _registered_names() -> dict[str, str]:
    return {model.version_label: model.name for model in SegmentationModel.objects.all()}


def _mask_editor_url(photo_id: int) -> str | None:
    # The mask editor is another page of the photo admin; linked only where it is installed.
    try:
        return reverse(MASK_EDITOR_URL, args=[photo_id])
    except NoReverseMatch:
        return None


def _formatted(figures: AccuracyFigures) -> dict:
    """The figures as the page shows them: F1 / IoU to 3 decimals, areas in signed percent."""

    def ratio(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    return {
        "photos": figures.photos,
        "pooled_f1": ratio(figures.pooled_f1),
        "pooled_iou": ratio(figures.pooled_iou),
        "mean_f1": ratio(figures.mean_f1),
        "median_f1": ratio(figures.median_f1),
        "mean_iou": ratio(figures.mean_iou),
        "median_iou": ratio(figures.median_iou),
        "mean_area_difference": _percent(figures.mean_area_difference, signed=True),
        "mean_absolute_area_difference": _percent(figures.mean_absolute_area_difference),
    }


def _percent(value: float | None, *, signed: bool = False) -> str:
    """A 0-1 share of the photo's pixels in percentage points (two decimals)."""
    if value is None:
        return "-"
    return f"{value * 100:+.2f} %" if signed else f"{value * 100:.2f} %"
