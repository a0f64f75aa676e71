import zoneinfo
from functools import cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from .access import PatientQuerySet, PatientScopedQuerySet
from .ownership import PatientOwned


@cache
def _time_zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(name: str) -> None:
    """An IANA time zone name this host can resolve, e.g. ``Europe/Paris`` or ``Asia/Seoul``."""
    if name not in _time_zone_names():
        raise ValidationError(
            "%(name)s is not an IANA time zone name (e.g. Europe/Paris, Asia/Seoul, UTC).",
            code="invalid_time_zone",
            params={"name": name},
        )


def default_time_zone() -> str:
    """The site's time zone (settings.TIME_ZONE), read when a patient is created."""
    return settings.TIME_ZONE


class Patient(models.Model):
    """The clinical profile of a patient account, and the clinicians who follow it."""

    class Sex(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        OTHER = "other", "Other"
        UNKNOWN = "unknown", "Unknown"

    class SkinType(models.IntegerChoices):
        """Fitzpatrick phototype: how the skin reacts to sun, from always burns to never burns."""

        I = 1, "I"  # noqa: E741
        II = 2, "II"
        III = 3, "III"
        IV = 4, "IV"
        V = 5, "V"
        VI = 6, "VI"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="patient_profile"
    )
    birth_year = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1900), MaxValueValidator(2100)]
    )
    sex = models.CharField(max_length=8, choices=Sex.choices, default=Sex.UNKNOWN)
    fitzpatrick_skin_type = models.PositiveSmallIntegerField(
        choices=SkinType.choices, null=True, blank=True
    )
    # Where the patient lives: a camera's EXIF time has no zone, so it is read in this one.
    time_zone = models.CharField(
        max_length=64,
        default=default_time_zone,
        validators=[validate_time_zone],
        help_text="IANA name, e.g. Europe/Paris; camera times without an offset are read in it.",
    )
    clinicians = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="assigned_patients",
        blank=True,
        limit_choices_to={"role": "clinician"},
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # docs/corrections.md: only the corrected photos of patients who said yes leave the database
    # (export_annotations). Off until the patient says so; changed only through
    # diary.services.consent, which records each change (ResearchConsentChange). The time is when
    # the consent in force was given, and is cleared on withdrawal: set exactly while it holds.
    research_consent = models.BooleanField(
        default=False,
        help_text="The patient agrees that their corrected photos train the clinic's models.",
    )
    research_consent_at = models.DateTimeField(
        null=True, blank=True, help_text="When the consent in force was given."
    )

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(research_consent=True, research_consent_at__isnull=False)
                | models.Q(research_consent=False, research_consent_at__isnull=True),
                name="patient_research_consent_dated",
            ),
        ]

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.username

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class BodySite(PatientOwned):
    """An area of skin a patient photographs over time, e.g. "left hand, dorsum"."""

    class Region(models.TextChoices):
        SCALP = "scalp", "Scalp"
        FACE = "face", "Face"
        NECK = "neck", "Neck"
        TRUNK = "trunk", "Trunk"
        BACK = "back", "Back"
        ARMS = "arms", "Arms"
        HANDS = "hands", "Hands"
        GENITALS = "genitals", "Genitals"
        BUTTOCKS = "buttocks", "Buttocks"
        LEGS = "legs", "Legs"
        FEET = "feet", "Feet"
        OTHER = "other", "Other"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="body_sites")
    region = models.CharField(max_length=16, choices=Region.choices)
    label = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    # The photo every other photo of the site is registered to (docs/alignment.md): the first
    # photo analysed, unless a clinician chose another. Changing it realigns the site's photos.
    alignment_baseline = models.ForeignKey(
        "diary.Photo",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The photo of this site that the others are aligned to.",
    )

    objects = PatientScopedQuerySet.as_manager()

    class Meta:
        ordering = ["patient_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "label"], name="body_site_label_unique"),
            # The target of the composite foreign keys (body_site_id, patient_id) of photos and
            # treatments (migration 0004): a row can only name a body site of its own patient.
            models.UniqueConstraint(fields=["id", "patient"], name="body_site_id_patient_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.get_region_display()})"

    def clean(self) -> None:
        super().clean()
        baseline = self.alignment_baseline
        if baseline is not None and (self.pk is None or baseline.body_site_id != self.pk):
            raise ValidationError(
                {"alignment_baseline": "The baseline must be a photo of this body site."},
                code="other_body_site",
            )


class TreatmentEntry(PatientOwned):
    """One logged treatment: a phototherapy session, a cream applied, a course of tablets."""

    class Kind(models.TextChoices):
        PHOTOTHERAPY = "phototherapy", "Phototherapy"
        TOPICAL = "topical", "Topical"
        ORAL = "oral", "Oral"
        OTHER = "other", "Other"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="treatments")
    date = models.DateField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    body_site = models.ForeignKey(
        BodySite, on_delete=models.SET_NULL, null=True, blank=True, related_name="treatments"
    )
    dose = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PatientScopedQuerySet.as_manager()
    patient_owned_fields = ("body_site",)

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name_plural = "treatment entries"
        indexes = [models.Index(fields=["patient", "date"], name="treatment_patient_date")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.date}"
