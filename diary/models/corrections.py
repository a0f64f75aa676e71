from django.conf import settings
from django.db import models

from .access import AnalysisQuerySet
from .analyses import Analysis
from .measured import MeasuredMask
from .photos import Photo


class Correction(MeasuredMask):
    """A clinician's corrected lesion mask of one photo, measured like a model's mask.

    Every save is a new row, never an overwrite: the newest correction of a photo is the mask in
    force (series, charts, exports, the mask endpoint), the older ones stay as its history. A
    re-analysis by another model adds an Analysis beside it and never replaces it.
    """

    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="corrections")
    # The analysis on screen when the clinician corrected it; its version is copied so that the
    # record still says which model was corrected if that analysis is ever removed.
    analysis = models.ForeignKey(
        Analysis, on_delete=models.SET_NULL, null=True, blank=True, related_name="corrections"
    )
    model_version = models.CharField(max_length=120)
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AnalysisQuerySet.as_manager()  # reached through photo__patient__, like analyses

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["photo", "created_at"], name="correction_photo_created")]

    def __str__(self) -> str:
        return f"Correction {self.pk} of photo {self.photo_id}"


class CorrectionScore(models.Model):
    """How far one model's mask of a photo was from a clinician's correction of it.

    Written when a correction is saved (against every analysis of the photo) and when a model
    analyses a photo that already has one (against the correction in force). Pixel counts are
    kept so that pooled (micro) figures over many photos can be summed, not averaged.
    """

    correction = models.ForeignKey(Correction, on_delete=models.CASCADE, related_name="scores")
    analysis = models.ForeignKey(
        Analysis, on_delete=models.CASCADE, related_name="correction_scores"
    )
    model_version = models.CharField(max_length=120)
    true_positive = models.BigIntegerField()
    false_positive = models.BigIntegerField()
    false_negative = models.BigIntegerField()
    true_negative = models.BigIntegerField()
    f1 = models.FloatField()
    iou = models.FloatField()
    # The model's lesion share of the photo minus the clinician's (signed, 0-1 of the pixels).
    area_difference = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = models.Manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["correction", "analysis"], name="correction_score_unique"
            ),
        ]
        indexes = [models.Index(fields=["model_version"], name="correction_score_version")]

    def __str__(self) -> str:
        return f"{self.model_version} vs correction {self.correction_id}: F1 {self.f1:.3f}"
