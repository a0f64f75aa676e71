"""``/patients/{id}/research-consent/``: the patient's research consent and its history.

Everyone who may see the patient may read it (clinicians need to know before they export). Only
the patient changes it here: consent is theirs to give; a clinician who holds a signed form
records it in the admin (diary/admin/consent.py), where the change is recorded the same way.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import ResearchConsentChange
from ..services.consent import research_consent_set
from .schema import E400, E401, E403, E404
from .security import _visible_patient


class ConsentChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = ResearchConsentChange
        fields = ["given", "changed_at", "actor_username", "actor_role", "via"]


class ResearchConsentSerializer(serializers.Serializer):
    research_consent = serializers.BooleanField(
        help_text="true: the patient's corrected photos may train the clinic's models "
        "(docs/corrections.md); false: they never leave the database. Off by default."
    )
    research_consent_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When the consent in force was given."
    )
    history = ConsentChangeSerializer(many=True, read_only=True, help_text="Newest first.")


def _answer(patient) -> Response:
    history = ResearchConsentChange.objects.filter(patient_id=patient.pk)
    body = {
        "research_consent": patient.research_consent,
        "research_consent_at": patient.research_consent_at,
        "history": history,
    }
    return Response(ResearchConsentSerializer(body).data)


class ResearchConsentView(APIView):
    @extend_schema(
        responses={200: ResearchConsentSerializer, **E401, **E404},
        summary="A patient's research consent, and every change of it",
    )
    def get(self, request, pk: int):
        return _answer(_visible_patient(request, pk))

    @extend_schema(
        request=ResearchConsentSerializer,
        responses={200: ResearchConsentSerializer, **E400, **E401, **E403, **E404},
        summary="Give or withdraw research consent (the patient themself)",
        description="Giving it dates it; withdrawing clears the date, and later exports leave "
        "the patient out. Sending the value in force changes nothing. Clinicians and staff "
        "answer 403: they record a signed consent in the admin.",
    )
    def put(self, request, pk: int):
        patient = _visible_patient(request, pk)
        if patient.user_id != request.user.pk:
            raise PermissionDenied("Only the patient may change their consent here.")
        body = ResearchConsentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        research_consent_set(
            patient=patient,
            given=body.validated_data["research_consent"],
            actor=request.user,
            via=ResearchConsentChange.Via.API,
        )
        return _answer(patient)
