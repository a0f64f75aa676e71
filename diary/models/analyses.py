from django.db import models

from .access import AnalysisQuerySet
from .measured import MeasuredMask
from .photos import Photo


class Analysis(MeasuredMask):
    """The segmentation and severity measures of one photo by one model version.

    Older analyses are kept when a new model is activated; series use the active model's.
    """

    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="analyses")
    model = models.ForeignKey(
        "segmentation.SegmentationModel",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="analyses",
        help_text="Empty when the training-free colour baseline made the mask.",
    )
    model_version = models.CharField(max_length=120)
    timings_ms = models.JSONField(default=dict)
    # The photo registered to its site's baseline (segmentation.registration's result plus
    # ``baseline_photo``); empty until aligned. Redone when the site's baseline changes.
    alignment = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AnalysisQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "analyses"
        constraints = [
            models.UniqueConstraint(
                fields=["photo", "model_version"], name="analysis_photo_version_unique"
            ),
        ]
        indexes = [models.Index(fields=["model_version", "photo"], name="analysis_version_photo")]

    def __str__(self) -> str:
        return f"Analysis of photo {self.photo_id} by {self.model_version}"
