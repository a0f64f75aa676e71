"""``/photos/{id}/change/?against=``: what changed between two photos of one body site.

A mixin of PhotoViewSet, so that both photos go through its ``photo_list`` queryset: a photo the
caller may not see is a 404, ``against`` included (``errors.against[0].code ==
"does_not_exist"``).
"""

from __future__ import annotations

import io

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from ..models.photos import MASK_SOURCES
from ..selectors.changes import (
    PhotoPair,
    aligned_later_image,
    change_overlay,
    photo_change,
    photo_pair,
)
from ..selectors.photos import photo_list
from .schema import E400, E401, E404

_AGAINST = [
    OpenApiParameter(
        "against", int, required=True, description="Another photo of the same body site"
    )
]
_PNG = {(200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY, description="A PNG image")}


class ChangeQuerySerializer(serializers.Serializer):
    def get_fields(self):
        photos = photo_list(user=self.context["request"].user)
        return {"against": serializers.PrimaryKeyRelatedField(queryset=photos)}


class PhotoRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    taken_at = serializers.DateTimeField()
    model_version = serializers.CharField(help_text="The analysis whose mask is compared")
    mask_source = serializers.ChoiceField(
        choices=MASK_SOURCES,
        help_text="`clinician` when a correction is the mask compared (docs/corrections.md)",
    )


class PhotoChangeSerializer(serializers.Serializer):
    photo = serializers.IntegerField()
    against = serializers.IntegerField()
    body_site = serializers.IntegerField()
    earlier = PhotoRefSerializer()
    later = PhotoRefSerializer(help_text="Its mask is warped into the earlier photo's frame")
    aligned = serializers.BooleanField()
    reason = serializers.CharField(help_text="Why the photos are not aligned; empty when they are")
    transform_error_px = serializers.FloatField(
        allow_null=True,
        help_text="RMS residual of the matched features, in the baseline photo's pixels (both "
        "registrations to the site's baseline, added in quadrature); null when not aligned",
    )
    overlap = serializers.FloatField(
        allow_null=True, help_text="Share of the earlier photo that the later photo also shows"
    )
    repigmented_share = serializers.FloatField(
        allow_null=True,
        help_text="Earlier lesion pixels that are skin later, as a share of the earlier lesion "
        "(inside the overlap); null when not aligned or the earlier photo has no lesion",
    )
    new_lesion_share = serializers.FloatField(
        allow_null=True,
        help_text="Earlier skin pixels that are lesion later, as a share of the earlier lesion",
    )
    unchanged_share = serializers.FloatField(allow_null=True)
    overlay_url = serializers.CharField(allow_null=True, help_text="The change map (PNG)")
    aligned_url = serializers.CharField(
        allow_null=True, help_text="The later photo in the earlier photo's frame (PNG)"
    )


class PhotoChangeMixin:
    """Adds ``change/``, ``change/overlay/`` and ``change/aligned/`` to PhotoViewSet."""

    def _pair(self, request) -> PhotoPair:
        photo = self.get_object()
        query = ChangeQuerySerializer(data=request.query_params, context={"request": request})
        query.is_valid(raise_exception=True)
        return photo_pair(photo=photo, other=query.validated_data["against"])

    @extend_schema(
        parameters=_AGAINST,
        responses={200: PhotoChangeSerializer, **E400, **E401, **E404},
        summary="What changed between this photo and another of the same body site",
        description="Both photos are registered to their body site's baseline photo; the later "
        "photo's mask is warped into the earlier photo's frame (whichever of the two is "
        "earlier). When they cannot be aligned, `aligned` is false, `reason` says why and no "
        "shares are given. 400 `different_body_sites` when the photos are of different sites; "
        "404 when either photo is not yours to see or not analysed yet (`not_analysed`).",
    )
    @action(detail=True, methods=["get"], url_path="change")
    def change(self, request, pk=None):
        pair = self._pair(request)
        result = photo_change(pair)
        change = result.change
        urls = {}
        if result.aligned:
            for kind in ("overlay", "aligned"):
                path = reverse(f"api:photo-change-{kind}", args=[pk])
                urls[kind] = request.build_absolute_uri(f"{path}?against={request.GET['against']}")
        unchanged = None
        if change is not None and change.earlier_lesion_px:
            unchanged = round(change.unchanged_px / change.earlier_lesion_px, 4)
        body = {
            "photo": int(pk),
            "against": int(request.GET["against"]),
            "body_site": pair.earlier.body_site_id,
            "earlier": _ref(pair.earlier, pair.earlier_analysis),
            "later": _ref(pair.later, pair.later_analysis),
            "aligned": result.aligned,
            "reason": pair.reason,
            "transform_error_px": pair.transform_error_px,
            "overlap": change.overlap if change else None,
            "repigmented_share": change.repigmented_share if change else None,
            "new_lesion_share": change.new_lesion_share if change else None,
            "unchanged_share": unchanged,
            "overlay_url": urls.get("overlay"),
            "aligned_url": urls.get("aligned"),
        }
        return Response(PhotoChangeSerializer(body).data)

    @extend_schema(
        parameters=_AGAINST,
        responses={**_PNG, **E400, **E401, **E404},
        summary="The change map of two photos of a body site (PNG, with a legend)",
    )
    @action(detail=True, methods=["get"], url_path="change/overlay", url_name="change-overlay")
    def change_overlay(self, request, pk=None):
        return _png(change_overlay(self._aligned_pair(request)), f"photo-{pk}-change.png")

    @extend_schema(
        parameters=_AGAINST,
        responses={**_PNG, **E400, **E401, **E404},
        summary="The later of two photos warped into the earlier photo's frame (PNG)",
    )
    @action(detail=True, methods=["get"], url_path="change/aligned", url_name="change-aligned")
    def change_aligned(self, request, pk=None):
        return _png(aligned_later_image(self._aligned_pair(request)), f"photo-{pk}-aligned.png")

    def _aligned_pair(self, request) -> PhotoPair:
        pair = self._pair(request)
        if pair.matrix is None:
            raise NotFound(f"The two photos are not aligned: {pair.reason}.", code="not_aligned")
        return pair


def _ref(photo, analysis) -> dict:
    return {
        "id": photo.pk,
        "taken_at": photo.taken_at,
        "model_version": analysis.model_version,
        "mask_source": photo.mask_source,
    }


def _png(image, filename: str) -> HttpResponse:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    response = HttpResponse(buffer.getvalue(), content_type="image/png")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"  # health data: never in shared caches
    return response
