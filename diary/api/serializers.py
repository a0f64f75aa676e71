"""Thin serializers: shapes only, the writes live in diary.services."""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from segmentation.severity.catalog import COLUMNS

from ..models import Analysis, BodySite, Patient, Photo, TreatmentEntry, User
from ..models.ownership import PATIENT_IMMUTABLE
from ..models.photos import MASK_SOURCES
from ..services.quality import photo_quality_summary
from .quality_serializers import PhotoQualitySerializer


class StrictCharField(serializers.CharField):
    """A string field that refuses numbers and booleans: DRF's CharField turns ``2.5`` into
    ``"2.5"``, which the schema (``type: string``) says is invalid, and a client that sends a
    number where it meant text has a bug worth a 400."""

    default_error_messages = {"invalid": "Not a valid string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


_STRICT_STRINGS = {
    **serializers.ModelSerializer.serializer_field_mapping,
    models.CharField: StrictCharField,
    models.TextField: StrictCharField,
}


class UserSerializer(serializers.ModelSerializer):
    patient_id = serializers.IntegerField(
        source="patient_profile.id",
        read_only=True,
        default=None,
        allow_null=True,  # clinicians and staff have no patient profile
        help_text="The user's patient id; null for clinicians and staff.",
    )

    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "email", "role", "patient_id"]
        read_only_fields = fields


class PatientSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    display_name = serializers.CharField(source="__str__", read_only=True)
    clinician_ids = serializers.PrimaryKeyRelatedField(
        source="clinicians", many=True, read_only=True
    )

    class Meta:
        model = Patient
        fields = [
            "id",
            "username",
            "display_name",
            "birth_year",
            "sex",
            "fitzpatrick_skin_type",
            "time_zone",
            "clinician_ids",
            "research_consent",
            "research_consent_at",
            "created_at",
        ]
        read_only_fields = ["id", "username", "display_name", "clinician_ids", "created_at"]
        read_only_fields += ["research_consent", "research_consent_at"]  # see api/consent.py


def _names_the_patient(user) -> bool:
    """Clinicians and staff name the patient of a new row. A patient may leave it out, and so may
    the public schema, from which the patients' app is generated. By role, not by profile row:
    the schema is generated without touching the database."""
    is_authenticated = getattr(user, "is_authenticated", False)
    return is_authenticated and getattr(user, "role", None) != User.Role.PATIENT


class PatientOwnedSerializer(serializers.ModelSerializer):
    """For rows that belong to a patient: ``patient`` must be one the requester may see."""

    serializer_field_mapping = _STRICT_STRINGS

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if "patient" in fields and request is not None:
            fields["patient"].queryset = Patient.objects.visible_to(request.user)
            # The schema is generated with the requester's user, so each role's schema says
            # whether ``patient`` is required.
            fields["patient"].required = self.instance is None and _names_the_patient(request.user)
        if "body_site" in fields and request is not None:
            fields["body_site"].queryset = BodySite.objects.visible_to(request.user)
        return fields

    def validate(self, attrs):
        attrs = super().validate(attrs)
        moved_to = attrs.get("patient") if self.instance is not None else None
        if moved_to is not None and moved_to.pk != self.instance.patient_id:
            # Moving a body site to another patient would leave its photos behind; the model
            # and the database refuse it too (diary/models/ownership.py).
            what = self.Meta.model._meta.verbose_name
            raise serializers.ValidationError(
                {"patient": PATIENT_IMMUTABLE.format(what=what)}, code="immutable"
            )
        if self.instance is None and "patient" not in attrs:
            user = self.context["request"].user
            profile = getattr(user, "patient_profile", None)
            if profile is None:
                raise serializers.ValidationError({"patient": "This field is required."})
            attrs["patient"] = profile
        patient = attrs.get("patient") or getattr(self.instance, "patient", None)
        body_site = attrs.get("body_site")
        if body_site is not None and patient is not None and body_site.patient_id != patient.pk:
            raise serializers.ValidationError(
                {"body_site": "This body site belongs to another patient."}
            )
        return attrs


class BodySiteSerializer(PatientOwnedSerializer):
    class Meta:
        model = BodySite
        fields = ["id", "patient", "region", "label", "created_at"]
        read_only_fields = ["id", "created_at"]
        validators = []  # (patient, label) uniqueness is checked in validate() with a clear message

    def validate(self, attrs):
        attrs = super().validate(attrs)
        patient = attrs.get("patient") or getattr(self.instance, "patient", None)
        label = attrs.get("label", getattr(self.instance, "label", None))
        clash = BodySite.objects.filter(patient=patient, label=label)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            # "unique": answered 409 Conflict by diary.api.errors, like any duplicate.
            raise serializers.ValidationError(
                {"label": "This patient already has a body site with this label."}, code="unique"
            )
        return attrs


class TreatmentEntrySerializer(PatientOwnedSerializer):
    class Meta:
        model = TreatmentEntry
        fields = ["id", "patient", "date", "kind", "body_site", "dose", "notes", "created_at"]
        read_only_fields = ["id", "created_at"]


class AnalysisSerializer(serializers.ModelSerializer):
    mask_url = serializers.SerializerMethodField()
    overlay_url = serializers.SerializerMethodField()

    class Meta:
        model = Analysis
        fields = [
            "id",
            "model_version",
            *COLUMNS,
            "grade",
            "measures",
            "timings_ms",
            "created_at",
            "mask_url",
            "overlay_url",
        ]
        read_only_fields = fields

    def get_mask_url(self, analysis: Analysis) -> str:
        return reverse("api:photo-mask", kwargs={"pk": analysis.photo_id})

    def get_overlay_url(self, analysis: Analysis) -> str:
        return reverse("api:photo-overlay", kwargs={"pk": analysis.photo_id})


class PhotoSerializer(serializers.ModelSerializer):
    image_url = serializers.SerializerMethodField()
    status_url = serializers.SerializerMethodField()
    latest_analysis = serializers.SerializerMethodField()
    quality = serializers.SerializerMethodField()
    mask_source = serializers.SerializerMethodField(
        help_text="Who drew the mask in force: `clinician` (a correction) or `model`; null "
        "before the first analysis."
    )

    class Meta:
        model = Photo
        fields = [
            "id",
            "patient",
            "body_site",
            "taken_at",
            "taken_at_source",
            "uploaded_at",
            "sha256",
            "width",
            "height",
            "status",
            "error_message",
            "image_url",
            "status_url",
            "latest_analysis",
            "quality",
            "mask_source",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=MASK_SOURCES, allow_null=True))
    def get_mask_source(self, photo: Photo) -> str | None:
        return photo.mask_source  # from the selector's prefetches

    @extend_schema_field(PhotoQualitySerializer)
    def get_quality(self, photo: Photo) -> dict:
        return photo_quality_summary(photo)

    def get_image_url(self, photo: Photo) -> str:
        return reverse("api:photo-image", kwargs={"pk": photo.pk})

    def get_status_url(self, photo: Photo) -> str:
        return reverse("api:photo-detail", kwargs={"pk": photo.pk})

    @extend_schema_field(AnalysisSerializer(allow_null=True))
    def get_latest_analysis(self, photo: Photo) -> dict | None:
        # Filled by the selector (a prefetch); never a query per photo.
        analysis = getattr(photo, "latest_analysis", None)
        return AnalysisSerializer(analysis, context=self.context).data if analysis else None


class LocalDateTimeField(serializers.DateTimeField):
    """Keeps a time without an offset naive: the service reads it in the patient's time zone,
    which is not known while the field is parsed."""

    def enforce_timezone(self, value):
        return value if timezone.is_naive(value) else super().enforce_timezone(value)


class PhotoUploadSerializer(serializers.Serializer):
    image = serializers.FileField(help_text="JPEG, PNG, WebP or HEIC; metadata is stripped.")
    body_site = serializers.PrimaryKeyRelatedField(queryset=BodySite.objects.none())
    taken_at = LocalDateTimeField(
        required=False,
        help_text="When the photo was taken, if the image has no EXIF DateTimeOriginal. Without "
        "an offset it is the patient's local time (their `time_zone`). Refused when more than "
        "PHOTO_TAKEN_AT_CLOCK_SKEW_MINUTES (10) in the future, before 1990 or before the "
        "patient's birth year.",
    )

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            fields["body_site"].queryset = BodySite.objects.visible_to(request.user)
        return fields


class DuplicatePhotoSerializer(PhotoSerializer):
    """The answer to an upload of bytes this patient uploaded before: the first photo, as it is."""

    duplicate_of = serializers.SerializerMethodField(
        help_text="The photo these bytes were first uploaded as (its `id`)."
    )
    detail = serializers.SerializerMethodField(
        help_text="What happened: nothing was stored, and this upload's `taken_at` and "
        "`body_site` were not applied."
    )

    class Meta(PhotoSerializer.Meta):
        fields = [*PhotoSerializer.Meta.fields, "duplicate_of", "detail"]
        read_only_fields = fields

    def get_duplicate_of(self, photo: Photo) -> int:
        return photo.pk

    def get_detail(self, photo: Photo) -> str:
        return (
            f"This image was already uploaded as photo {photo.pk}; nothing new was stored. That "
            "photo is returned unchanged: the taken_at and body_site sent with this upload were "
            "not applied. Delete it and upload again to change them."
        )


class LoginSerializer(serializers.Serializer):
    username = StrictCharField()
    password = StrictCharField(write_only=True, style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()
    user = UserSerializer()
