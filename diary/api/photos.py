"""Photos: upload, list, detail, delete, and the authorised file downloads."""

from __future__ import annotations

import mimetypes

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from ..selectors.photos import photo_list
from ..services.photos import photo_create, photo_delete, photo_quality_dry_run
from ..services.quality import photo_quality_include_set
from .changes import PhotoChangeMixin
from .corrections import PhotoCorrectionMixin
from .filters import PhotoFilter
from .quality_serializers import (
    PhotoQualityOverrideSerializer,
    QualityCheckResultSerializer,
    QualityCheckUploadSerializer,
)
from .schema import E400, E401, E403, E404, E413
from .serializers import DuplicatePhotoSerializer, PhotoSerializer, PhotoUploadSerializer

# The real media types, so that a generated client reads bytes rather than calling .json().
_PHOTO = {
    (200, media_type): OpenApiResponse(OpenApiTypes.BINARY, description="The photo")
    for media_type in ("image/jpeg", "image/png")  # what decode_photo stores
}
_PNG = {(200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY, description="A PNG image")}


def _file_response(field_file, *, filename: str) -> FileResponse:
    if not field_file:
        raise NotFound("This file does not exist yet.", code="not_ready")
    content_type = mimetypes.guess_type(field_file.name)[0] or "application/octet-stream"
    response = FileResponse(field_file.open("rb"), content_type=content_type, filename=filename)
    # Health data: never kept by shared caches.
    response["Cache-Control"] = "private, no-store"
    return response


@extend_schema_view(
    list=extend_schema(responses={200: PhotoSerializer, **E400, **E401}),
    retrieve=extend_schema(
        responses={200: PhotoSerializer, **E401, **E404},
        description="Poll this until `status` is `done` or `failed`.",
    ),
    destroy=extend_schema(responses={204: None, **E401, **E404}),
)
class PhotoViewSet(
    PhotoChangeMixin,  # /photos/{id}/change/?against= (diary/api/changes.py)
    PhotoCorrectionMixin,  # /photos/{id}/corrections/ (diary/api/corrections.py)
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = PhotoSerializer
    filterset_class = PhotoFilter
    ordering_fields = ["taken_at", "uploaded_at"]
    throttle_scope = "upload"
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        return photo_list(user=self.request.user)

    def get_throttles(self):
        # Only uploads are throttled; reading the diary is not.
        return super().get_throttles() if self.action in ("create", "check") else []

    @extend_schema(
        request={"multipart/form-data": PhotoUploadSerializer},
        responses={
            201: OpenApiResponse(
                PhotoSerializer,
                description="Stored. `status` is `pending` when the analysis runs on a worker, "
                "or already `done` (or `failed`) when the server runs tasks in-process.",
            ),
            200: OpenApiResponse(
                DuplicatePhotoSerializer,
                description="Same content already uploaded: the first photo, unchanged; "
                "`duplicate_of` and `detail` say that this upload's `taken_at` and `body_site` "
                "were not applied",
            ),
            **E400,
            **E401,
            **E413,
        },
        summary="Upload a photo of a body site",
        description="Answers 201 with the stored photo, `Location` and `status_url`. With a "
        "broker and workers (production) the analysis runs asynchronously: `status` is "
        "`pending`; poll `status_url` until it is `done` or `failed`. On the embedded default "
        "(`make run`, no broker) the analysis runs in-process before the answer, which then "
        "already says `done` (or `failed`); polling works the same in both modes. The same bytes "
        "uploaded again for the same patient answer 200 with the photo stored the first time, "
        "unchanged, and `duplicate_of`/`detail` saying so.",
    )
    def create(self, request):
        upload = PhotoUploadSerializer(data=request.data, context={"request": request})
        upload.is_valid(raise_exception=True)
        photo, created = photo_create(
            body_site=upload.validated_data["body_site"],
            upload=upload.validated_data["image"],
            taken_at=upload.validated_data.get("taken_at"),
        )
        photo = self.get_queryset().get(pk=photo.pk)
        serializer_class = PhotoSerializer if created else DuplicatePhotoSerializer
        body = serializer_class(photo, context={"request": request}).data
        headers = {"Location": body["status_url"]}
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(body, status=code, headers=headers)

    @extend_schema(
        request={"multipart/form-data": QualityCheckUploadSerializer},
        responses={200: QualityCheckResultSerializer, **E400, **E401, **E413},
        summary="Check a photo's quality without storing anything (dry run)",
        description="Runs the quality checks of an upload (blur, compression, exposure, skin in "
        "the middle, resolution, colour cast) and answers what to fix. Nothing is stored: no "
        "file, no row. The lesion-at-the-border check needs the analysis and is not run.",
    )
    @action(detail=False, methods=["post"])
    def check(self, request):
        upload = QualityCheckUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        result = photo_quality_dry_run(upload=upload.validated_data["image"])
        return Response(QualityCheckResultSerializer(result).data)

    @extend_schema(
        request=PhotoQualityOverrideSerializer,
        responses={200: PhotoSerializer, **E400, **E401, **E403, **E404},
        summary="Count a photo the quality checks refused in the trends (clinicians)",
        description="`include: true` counts the photo in trend fits and verdicts although a "
        "check refused it; `false` undoes it. Clinicians and staff only (403 for patients).",
    )
    @action(detail=True, methods=["post"], url_path="quality-override", parser_classes=[JSONParser])
    def quality_override(self, request, pk=None):
        photo = self.get_object()  # another patient's photo is a 404 whatever the body says
        body = PhotoQualityOverrideSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        photo = photo_quality_include_set(
            photo=photo, user=request.user, include=body.validated_data["include"]
        )
        photo = self.get_queryset().get(pk=photo.pk)
        return Response(PhotoSerializer(photo, context={"request": request}).data)

    def perform_destroy(self, instance) -> None:
        photo_delete(photo=instance)

    @extend_schema(responses={**_PHOTO, **E401, **E404}, summary="The photo (metadata stripped)")
    @action(detail=True, methods=["get"])
    def image(self, request, pk=None):
        photo = self.get_object()
        return _file_response(photo.image, filename=f"photo-{photo.pk}{_suffix(photo.image)}")

    @extend_schema(
        responses={**_PNG, **E401, **E404},
        summary="The lesion mask in force (PNG)",
        description="A clinician's newest correction when there is one, else the newest model "
        "mask; the `X-Mask-Source` header says which (`clinician` or `model`).",
    )
    @action(detail=True, methods=["get"])
    def mask(self, request, pk=None):
        return self._mask_file(pk, "mask", f"photo-{pk}-mask.png")

    @extend_schema(
        responses={**_PNG, **E401, **E404},
        summary="The photo with its mask in force (PNG)",
        description="`X-Mask-Source` as for the mask.",
    )
    @action(detail=True, methods=["get"])
    def overlay(self, request, pk=None):
        return self._mask_file(pk, "overlay", f"photo-{pk}-overlay.png")

    def _mask_file(self, pk, field: str, filename: str) -> FileResponse:
        photo = self.get_object()
        record = photo.mask_in_force
        if record is None:
            raise NotFound("This photo has not been analysed yet.", code="not_analysed")
        response = _file_response(getattr(record, field), filename=filename)
        response["X-Mask-Source"] = photo.mask_source
        return response


def _suffix(field_file) -> str:
    name = field_file.name or ""
    return name[name.rfind(".") :] if "." in name else ""
