"""Shapes of the photo quality object (docs/quality.md), for DRF and the OpenAPI schema."""

from __future__ import annotations

from rest_framework import serializers

from segmentation.severity.photo_quality import CHEAP_CHECK_CODES, LESION_CUT


class QualityCheckSerializer(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=[*CHEAP_CHECK_CODES, LESION_CUT],
        help_text="What was checked; the app translates it. `lesion_cut` is added by the analysis.",
    )
    passed = serializers.BooleanField()
    value = serializers.FloatField(help_text="What was measured (its unit depends on the check).")
    threshold = serializers.FloatField(help_text="The line the value was held to.")
    message = serializers.CharField(help_text="What to fix, in English.")


class QualityCheckResultSerializer(serializers.Serializer):
    """The answer of the dry run (``POST /photos/check/``): nothing is stored."""

    ok = serializers.BooleanField(help_text="Every check passed.")
    checks = QualityCheckSerializer(many=True)


class PhotoQualitySerializer(QualityCheckResultSerializer):
    """A stored photo's quality: the upload's checks, and after the analysis `lesion_cut`."""

    ok = serializers.BooleanField(
        help_text="No check refused the photo (true for photos uploaded before the checks)."
    )
    counts_in_trends = serializers.BooleanField(
        help_text="Trend fits and verdicts use this photo: `ok`, or included by a clinician."
    )
    included_by_clinician = serializers.BooleanField(
        help_text="A clinician counted this refused photo in the trends anyway."
    )


class PhotoQualityOverrideSerializer(serializers.Serializer):
    include = serializers.BooleanField(
        help_text="true: count this photo in trends although a check refused it; false: undo."
    )


class QualityCheckUploadSerializer(serializers.Serializer):
    image = serializers.FileField(help_text="JPEG, PNG, WebP or HEIC, as for an upload.")
