from django.db import models


class SegmentationModel(models.Model):
    """A trained checkpoint in the registry; the one active model analyses new photos."""

    name = models.CharField(max_length=100, unique=True)
    architecture = models.CharField(max_length=40)
    backbone = models.CharField(max_length=40)
    checkpoint = models.FileField(upload_to="models/", max_length=255)
    checkpoint_sha256 = models.CharField(max_length=64)
    training_data = models.TextField(blank=True, help_text="What it was trained and validated on.")
    metrics = models.JSONField(default=dict, blank=True)
    minimal_detectable_change = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            "MDC95 per severity measure, measured from this model's own masks on augmented "
            "copies of the same photos; trends judge changes against it."
        ),
    )
    quality_notes = models.JSONField(
        default=dict,
        blank=True,
        help_text="Provenance of the MDC and of any cross-validation metrics attached.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    is_active = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="segmentation_model_one_active",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.architecture}-{self.backbone})"

    @property
    def version_label(self) -> str:
        """The label stored on every analysis this model makes."""
        return f"model:{self.name}:{self.checkpoint_sha256[:8]}"
