from django.db import models

from .access import AnalysisQuerySet
from .photos import Photo


class Analysis(models.Model):
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
    mask = models.FileField(upload_to="masks/", max_length=255)
    overlay = models.FileField(upload_to="overlays/", max_length=255)
    measures = models.JSONField(default=dict)
    # The measures the series plot, copied out of ``measures`` so they can be queried.
    lesion_skin_fraction = models.FloatField(null=True, blank=True)
    delta_e2000 = models.FloatField(null=True, blank=True)
    ita_difference = models.FloatField(null=True, blank=True)
    rgb_mean_difference = models.FloatField(null=True, blank=True)
    grade = models.CharField(max_length=16, blank=True)
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
