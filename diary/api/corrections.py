"""``/photos/{id}/corrections/``: a clinician's corrected mask of a photo (docs/corrections.md).

A mixin of PhotoViewSet, so the photo goes through its ``photo_list`` queryset: a photo the
caller may not see is a 404. Posting is for the patient's clinicians and staff; anyone else,
the patient included, gets the same 404 (the issue's rule: the endpoint does not exist for them).
The mask editor in the admin posts here, as do scripts (bench/correction_loop.py).
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from segmentation.severity.catalog import COLUMNS

from ..models import Correction
from ..services.corrections import correction_allowed, correction_create
from .schema import E400, E401, E404, E413, error_response


class CorrectionUploadSerializer(serializers.Serializer):
    mask = serializers.FileField(
        help_text="The corrected mask: a PNG of the photo's size, black (0) for skin and white "
        "(255) for lesion; white strokes on a transparent canvas read the same. Thresholded at "
        "128; refused when more than 2 % of its pixels are grey."
    )


class CorrectionSerializer(serializers.ModelSerializer):
    corrected_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    f1 = serializers.SerializerMethodField(help_text="Pixel F1 of the corrected model mask")
    iou = serializers.SerializerMethodField()
    area_difference = serializers.SerializerMethodField(
        help_text="The model mask's lesion share of the photo minus the clinician's (signed)"
    )
    mask_url = serializers.SerializerMethodField()

    class Meta:
        model = Correction
        fields = [
            "id",
            "photo",
            "analysis",
            "model_version",
            "corrected_by",
            "created_at",
            *COLUMNS,
            "grade",
            "measures",
            "f1",
            "iou",
            "area_difference",
            "mask_url",
        ]
        read_only_fields = fields

    def _score(self, correction: Correction):
        scores = getattr(correction, "_own_score", None)
        if scores is None:
            scores = correction.scores.filter(analysis_id=correction.analysis_id).first()
            correction._own_score = scores
        return scores

    def get_f1(self, correction: Correction) -> float | None:
        score = self._score(correction)
        return score.f1 if score else None

    def get_iou(self, correction: Correction) -> float | None:
        score = self._score(correction)
        return score.iou if score else None

    def get_area_difference(self, correction: Correction) -> float | None:
        score = self._score(correction)
        return score.area_difference if score else None

    def get_mask_url(self, correction: Correction) -> str:
        return reverse("api:photo-mask", kwargs={"pk": correction.photo_id})


class PhotoCorrectionMixin:
    @extend_schema(
        methods=["get"],
        responses={200: CorrectionSerializer(many=True), **E401, **E404},
        summary="A photo's corrected masks, newest first (the first is in force)",
    )
    @extend_schema(
        methods=["post"],
        request={"multipart/form-data": CorrectionUploadSerializer},
        responses={
            201: CorrectionSerializer,
            **E400,
            **E401,
            **E404,
            409: error_response("The photo has not been analysed yet"),
            **E413,
        },
        summary="Correct a photo's lesion mask (the patient's clinicians and staff)",
        description="Stores a new correction (never an overwrite) with the measures recomputed "
        "from it; series, charts and exports use it from now on (`mask_source: clinician`). "
        "Every model mask of the photo is scored against it. 404 for anyone who is not one of "
        "the patient's clinicians or staff.",
    )
    @action(
        detail=True,
        methods=["get", "post"],
        parser_classes=[MultiPartParser],
        pagination_class=None,  # a photo has a handful; the schema then says a plain list
    )
    def corrections(self, request: Request, pk=None) -> Response:
        photo = self.get_object()  # another patient's photo is a 404
        if request.method == "GET":
            rows = Correction.objects.filter(photo=photo).select_related("corrected_by")
            return Response(CorrectionSerializer(rows, many=True).data)
        if not correction_allowed(request.user):
            raise NotFound()
        upload = CorrectionUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        correction = correction_create(
            photo=photo, user=request.user, upload=upload.validated_data["mask"]
        )
        return Response(CorrectionSerializer(correction).data, status=status.HTTP_201_CREATED)
