"""Thin views: validate, call one service or selector, serialize."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import BodySite, Patient, TreatmentEntry
from .filters import BodySiteFilter, TreatmentEntryFilter
from .schema import E400, E401, E404, crud_schema
from .serializers import (
    BodySiteSerializer,
    LoginSerializer,
    PatientSerializer,
    TokenSerializer,
    TreatmentEntrySerializer,
    UserSerializer,
)


class LoginView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_scope = "login"

    def get_authenticate_header(self, request) -> str:
        # Without an authenticator DRF would answer bad credentials with 403; they are a 401.
        return 'Token realm="api"'

    @extend_schema(
        request=LoginSerializer,
        responses={200: TokenSerializer, **E400, **E401},
        summary="Exchange a username and password for an API token",
        description="Send `Authorization: Token <token>` afterwards. Each login rotates the "
        "token (the previous one stops working); tokens expire after API_TOKEN_TTL_HOURS.",
    )
    def post(self, request):
        credentials = LoginSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        user = authenticate(request, **credentials.validated_data)
        if user is None:
            raise AuthenticationFailed("Wrong username or password.", code="invalid_credentials")
        Token.objects.filter(user=user).delete()
        token = Token.objects.create(user=user)
        body = {
            "token": token.key,
            "expires_at": token.created + settings.API_TOKEN_TTL,
            "user": user,
        }
        return Response(TokenSerializer(body).data)


class LogoutView(APIView):
    @extend_schema(request=None, responses={204: None, **E401}, summary="Revoke the token")
    def post(self, request):
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(responses={200: UserSerializer, **E401}, summary="The current user")
    def get(self, request):
        return Response(UserSerializer(request.user).data)


@extend_schema_view(
    list=extend_schema(responses={200: PatientSerializer, **E401}),
    retrieve=extend_schema(responses={200: PatientSerializer, **E401, **E404}),
)
class PatientViewSet(viewsets.ReadOnlyModelViewSet):
    """A patient sees their own profile; a clinician their assigned patients; staff all."""

    serializer_class = PatientSerializer

    def get_queryset(self):
        return (
            Patient.objects.visible_to(self.request.user)
            .select_related("user")
            .prefetch_related("clinicians")
        )


@crud_schema(BodySiteSerializer)
class BodySiteViewSet(viewsets.ModelViewSet):
    serializer_class = BodySiteSerializer
    filterset_class = BodySiteFilter
    ordering_fields = ["created_at", "label"]

    def get_queryset(self):
        return BodySite.objects.visible_to(self.request.user)


@crud_schema(TreatmentEntrySerializer)
class TreatmentEntryViewSet(viewsets.ModelViewSet):
    serializer_class = TreatmentEntrySerializer
    filterset_class = TreatmentEntryFilter
    ordering_fields = ["date", "created_at"]

    def get_queryset(self):
        return TreatmentEntry.objects.visible_to(self.request.user)
