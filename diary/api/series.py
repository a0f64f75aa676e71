"""Progression endpoints of one patient: series, trends, chart (PNG/SVG), CSV and FHIR exports.

Thin: validate the query string, call a selector or a progression function, serialize. Every
route starts from ``Patient.objects.visible_to(user)``: another patient's id answers 404.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from ..models import BodySite, Patient
from ..progression.charts import FORMATS, series_chart
from ..progression.exports import fhir_bundle, series_csv
from ..progression.trends import minimal_detectable_change, site_trend
from ..selectors.series import SERIES_MEASURES, series_for_patient
from .schema import E400, E401, E404
from .series_serializers import SeriesSerializer, TrendsSerializer

_DATES = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="First day, inclusive"),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last day, inclusive"),
]
_WINDOW = [
    OpenApiParameter("body_site", int, description="Only this body site (one of the patient's)"),
    *_DATES,
]
# One chart is one body site's series: ChartQuerySerializer answers 400 without it.
_CHART_WINDOW = [
    OpenApiParameter("body_site", int, required=True, description="One of the patient's sites"),
    *_DATES,
]


class _FileRenderer(BaseRenderer):
    """Lets ``Accept: image/png`` (etc.) through content negotiation; the body is bytes."""

    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


def _renderer(media_type: str, fmt: str) -> type[BaseRenderer]:
    attrs = {"media_type": media_type, "format": fmt}
    return type(f"{fmt.upper()}Renderer", (_FileRenderer,), attrs)


class WindowQuerySerializer(serializers.Serializer):
    """``?body_site=&from=&to=``; ``from`` is a Python keyword, hence ``get_fields``."""

    def get_fields(self):
        sites = BodySite.objects.filter(patient=self.context["patient"])
        return {
            "body_site": serializers.PrimaryKeyRelatedField(queryset=sites, required=False),
            "from": serializers.DateField(required=False),
            "to": serializers.DateField(required=False),
        }

    def validate(self, attrs):
        if attrs.get("from") and attrs.get("to") and attrs["from"] > attrs["to"]:
            raise serializers.ValidationError({"to": "Must not be before `from`."})
        return attrs


class ChartQuerySerializer(WindowQuerySerializer):
    def get_fields(self):
        fields = super().get_fields()
        fields["body_site"].required = True  # one chart is one body site's series
        return fields


class PatientSeriesViewSet(viewsets.GenericViewSet):
    """Progression of one patient's vitiligo, per body site."""

    queryset = Patient.objects.none()  # for the schema; the real one is get_queryset's
    file_format: tuple[str, str] | None = None  # (media type, suffix) of a file route

    def get_queryset(self):
        return Patient.objects.visible_to(self.request.user)

    def get_renderers(self):
        renderers = [JSONRenderer()]
        if self.file_format:
            renderers.append(_renderer(*self.file_format)())
        return renderers

    def handle_exception(self, exc):
        # Errors are JSON even when the client accepts only an image or CSV.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)

    def _window(self, request, pk, query_class=WindowQuerySerializer) -> dict:
        """The patient and the validated ``?body_site=&from=&to=`` of every route, as keyword
        arguments of ``series_for_patient`` (and of the exports built on it)."""
        patient = get_object_or_404(self.get_queryset(), pk=pk)
        query = query_class(data=request.query_params, context={"patient": patient})
        query.is_valid(raise_exception=True)
        return {
            "patient": patient,
            "user": request.user,
            "body_site": query.validated_data.get("body_site"),
            "date_from": query.validated_data.get("from"),
            "date_to": query.validated_data.get("to"),
        }

    def _series(self, request, pk, query_class=WindowQuerySerializer):
        return series_for_patient(**self._window(request, pk, query_class))

    @extend_schema(
        parameters=_WINDOW,
        responses={200: SeriesSerializer, **E400, **E401, **E404},
        summary="Severity series per body site, with the treatments in the same window",
        description="Points are the analyses of the active segmentation model (or of the colour "
        "baseline when none is active), oldest first.",
    )
    def series(self, request, pk: int):
        return Response(SeriesSerializer(self._series(request, pk)).data)

    @extend_schema(
        parameters=_WINDOW,
        responses={200: TrendsSerializer, **E400, **E401, **E404},
        summary="Trend per body site: change, repigmentation, Theil-Sen slope, direction",
        description="`status` is improving, stable or worsening when the robust line's change "
        "over the window reaches the minimal detectable change (docs/progression.md); "
        "`insufficient_data` below 3 photos or 28 days.",
    )
    def trends(self, request, pk: int):
        series = self._series(request, pk)
        body = {
            "patient": series.patient.pk,
            "model_version": series.model_version,
            "minimal_detectable_change": {
                m: minimal_detectable_change(m, series.minimal_detectable_change)
                for m in SERIES_MEASURES
            },
            "sites": [
                {
                    "site": site,
                    "trend": site_trend(site.points, mdc=series.minimal_detectable_change),
                }
                for site in series.sites
            ],
        }
        return Response(TrendsSerializer(body).data)

    def _chart(self, request, pk: int, fmt: str):
        series = self._series(request, pk, ChartQuerySerializer)
        return HttpResponse(series_chart(series.sites[0], fmt=fmt), content_type=FORMATS[fmt])

    @extend_schema(
        parameters=_CHART_WINDOW,
        responses={(200, "image/png"): OpenApiTypes.BINARY, **E400, **E401, **E404},
        summary="Chart of one body site's series (PNG); treatment periods shaded",
        operation_id="patients_series_chart_png",
    )
    def chart_png(self, request, pk: int):
        return self._chart(request, pk, "png")

    @extend_schema(
        parameters=_CHART_WINDOW,
        responses={(200, "image/svg+xml"): OpenApiTypes.BINARY, **E400, **E401, **E404},
        summary="Chart of one body site's series (SVG); treatment periods shaded",
        operation_id="patients_series_chart_svg",
    )
    def chart_svg(self, request, pk: int):
        return self._chart(request, pk, "svg")

    @extend_schema(
        parameters=_WINDOW,
        responses={(200, "text/csv"): OpenApiTypes.STR, **E400, **E401, **E404},
        summary="The series as CSV, one row per analysed photo",
        description="The same points as the series for the same `body_site`, `from` and `to`.",
        operation_id="patients_series_export_csv",
    )
    def export_csv(self, request, pk: int):
        body = series_csv(**self._window(request, pk))
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="patient-{pk}-series.csv"'
        response["Cache-Control"] = "private, no-store"
        return response

    @extend_schema(
        parameters=_WINDOW,
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="A FHIR R4 Bundle (collection)"),
            **E400,
            **E401,
            **E404,
        },
        summary="The series as a FHIR R4 Bundle: Patient, Device, Media, Observations",
        description="The same points as the series for the same `body_site`, `from` and `to`.",
    )
    def fhir(self, request, pk: int):
        response = Response(fhir_bundle(**self._window(request, pk)))
        response["Cache-Control"] = "private, no-store"
        return response


def _route(suffix: str, action: str, name: str, file_format: tuple[str, str] | None = None):
    view = PatientSeriesViewSet.as_view({"get": action}, file_format=file_format)
    return path(f"patients/<int:pk>/series/{suffix}", view, name=name)


# Included by diary/api/urls.py, before the router's patient routes.
urlpatterns = [
    _route("", "series", "patient-series"),
    _route("trends/", "trends", "patient-trends"),
    _route("chart.png", "chart_png", "patient-chart-png", ("image/png", "png")),
    _route("chart.svg", "chart_svg", "patient-chart-svg", ("image/svg+xml", "svg")),
    _route("export.csv", "export_csv", "patient-series-csv", ("text/csv", "csv")),
    _route("fhir/", "fhir", "patient-fhir"),
]
