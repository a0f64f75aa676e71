"""Data rights endpoints: export of a patient's whole diary, and its erasure."""

from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import get_object_or_404
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from ..audit import audit_touch
from ..models import AuditEvent, Patient
from ..services.erasure import patient_erase
from ..services.patient_archive import patient_export
from .schema import E401, E404, ErrorSerializer

_E403 = {403: OpenApiResponse(ErrorSerializer, description="Only the patient or staff may")}


class ZipRenderer(BaseRenderer):
    """Lets a client ask for ``Accept: application/zip``; the zip itself is a FileResponse and
    errors are switched to JSON in ``handle_exception``, so this never renders a body itself."""

    media_type = "application/zip"
    format = "zip"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return JSONRenderer().render(data)


def _visible_patient(request, pk: int) -> Patient:
    # Another patient's id answers 404 like an id that does not exist: no existence oracle.
    return get_object_or_404(Patient.objects.visible_to(request.user).select_related("user"), pk=pk)


class PatientExportView(APIView):
    renderer_classes = [JSONRenderer, ZipRenderer]

    def handle_exception(self, exc):
        # Errors are JSON even when the client asked for the zip (``Accept`` or ``?format=zip``).
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)

    @extend_schema(
        responses={
            (200, "application/zip"): OpenApiResponse(
                OpenApiTypes.BINARY, description="patient.json, photos, masks, series, FHIR"
            ),
            **{(code, "application/json"): r for code, r in {**E401, **E404}.items()},
        },
        summary="Export all of a patient's data as a zip",
        description="`patient.json` (profile, body sites, treatments, photos and measures), "
        "`photos/`, `masks/`, `overlays/`, `series.csv` and `fhir.json` (a FHIR R4 Bundle).",
    )
    def get(self, request, pk: int):
        patient = _visible_patient(request, pk)
        audit_touch(patient_ids=[patient.pk], action=AuditEvent.Action.EXPORT)
        archive = patient_export(patient=patient, user=request.user)
        response = FileResponse(
            archive,
            as_attachment=True,
            filename=f"vitiligo-diary-patient-{patient.pk}.zip",
            content_type="application/zip",
        )
        response["Cache-Control"] = "private, no-store"
        return response


class PatientErasureView(APIView):
    @extend_schema(
        request=None,
        responses={
            204: None,
            **E401,
            **_E403,
            **E404,
        },
        summary="Erase a patient: account, photos, masks, overlays, analyses, treatments",
        description="Irreversible. Allowed to the patient themself and to staff; clinicians "
        "answer 403. The audit log keeps the record that it happened.",
    )
    def delete(self, request, pk: int):
        patient = _visible_patient(request, pk)
        if not (request.user.sees_all_patients or patient.user_id == request.user.pk):
            raise PermissionDenied("Only the patient or staff may erase a diary.", code="forbidden")
        audit_touch(patient_ids=[patient.pk], action=AuditEvent.Action.ERASE)
        patient_erase(patient=patient)
        return Response(status=status.HTTP_204_NO_CONTENT)
