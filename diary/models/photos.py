import uuid

from django.db import models

from .access import PatientScopedQuerySet
from .ownership import PatientOwned
from .patients import BodySite, Patient

#: Values of ``mask_source`` (API, series, exports): who drew the mask a measure comes from.
MASK_SOURCE_MODEL = "model"
MASK_SOURCE_CLINICIAN = "clinician"
MASK_SOURCES = (MASK_SOURCE_MODEL, MASK_SOURCE_CLINICIAN)


def photo_upload_path(photo: "Photo", filename: str) -> str:
    # Random names: the client's file name is never trusted nor kept on disk.
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"photos/{photo.patient_id}/{uuid.uuid4().hex}.{suffix}"


class Photo(PatientOwned):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class TakenAtSource(models.TextChoices):
        EXIF = "exif", "EXIF DateTimeOriginal"
        CLIENT = "client", "Given by the client"
        UPLOAD = "upload", "Upload time"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="photos")
    body_site = models.ForeignKey(BodySite, on_delete=models.CASCADE, related_name="photos")
    taken_at = models.DateTimeField()
    taken_at_source = models.CharField(max_length=8, choices=TakenAtSource.choices)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    image = models.FileField(upload_to=photo_upload_path, max_length=255)
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    status_changed_at = models.DateTimeField(auto_now_add=True)
    error_message = models.TextField(blank=True)
    # Analyses started on this photo that never reported back: a worker that dies mid-analysis
    # (out of memory, a native crash) leaves it counted, so a photo that kills every worker ends
    # ``failed`` after PIPELINE_MAX_ANALYSIS_ATTEMPTS instead of being redelivered forever.
    analysis_attempts = models.PositiveSmallIntegerField(default=0)
    # Photo quality (docs/quality.md): the checks as stored dicts (code, passed, value, threshold,
    # message) and whether all passed; both null for photos older than the checks. A clinician
    # may count a refused photo in the trends anyway (who and when). All nullable without a
    # default: SQLite then adds the columns in place instead of rebuilding the table, which would
    # drop the triggers of migration 0005.
    quality_checks = models.JSONField(null=True, blank=True)
    quality_ok = models.BooleanField(null=True, blank=True)
    quality_included_by = models.ForeignKey(
        "diary.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    quality_included_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a clinician included this photo although a check "
        "refused it; empty: the checks decide.",
    )

    objects = PatientScopedQuerySet.as_manager()
    patient_owned_fields = ("body_site",)

    class Meta:
        ordering = ["-taken_at", "-id"]
        constraints = [
            # The same bytes uploaded twice for a patient are one photo (idempotent uploads).
            models.UniqueConstraint(fields=["patient", "sha256"], name="photo_content_unique"),
        ]
        indexes = [
            models.Index(fields=["patient", "taken_at"], name="photo_patient_taken"),
            models.Index(fields=["body_site", "taken_at"], name="photo_site_taken"),
            models.Index(fields=["status", "status_changed_at"], name="photo_status_changed"),
        ]

    def __str__(self) -> str:
        return f"Photo {self.pk} of {self.body_site} at {self.taken_at:%Y-%m-%d}"

    @property
    def counts_in_trends(self) -> bool:
        """Trend fits and verdicts use this photo: no check refused it, or a clinician said so."""
        return self.quality_ok is not False or self.quality_included_at is not None

    @property
    def latest_correction(self):
        """A clinician's newest corrected mask (docs/corrections.md), the mask in force when
        there is one; uses the selector's prefetch when there is one."""
        prefetched = getattr(self, "corrections_newest_first", None)
        if prefetched is not None:
            return prefetched[0] if prefetched else None
        return self.corrections.order_by("-created_at", "-id").first()

    @property
    def mask_in_force(self):
        """The mask series, charts, exports and the mask endpoint use: the newest correction,
        else the newest analysis (None before the first analysis)."""
        return self.latest_correction or self.latest_analysis

    @property
    def mask_source(self) -> str | None:
        """Where the mask in force came from: ``clinician``, ``model``, or None (no mask yet)."""
        if self.latest_correction is not None:
            return MASK_SOURCE_CLINICIAN
        return MASK_SOURCE_MODEL if self.latest_analysis is not None else None

    @property
    def latest_analysis(self):
        """The newest analysis; uses the selector's prefetch when there is one."""
        prefetched = getattr(self, "analyses_newest_first", None)
        if prefetched is not None:
            return prefetched[0] if prefetched else None
        return self.analyses.order_by("-created_at", "-id").first()
