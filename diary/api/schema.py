"""OpenAPI documentation helpers: every endpoint lists its error responses."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(required=False, help_text="Per-field messages, on 400 only.")


def error_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


E400 = {400: error_response("Invalid input")}
E401 = {401: error_response("Not authenticated, or the token expired")}
E403 = {403: error_response("Not allowed for your role")}
E404 = {404: error_response("Not found, or belongs to a patient you may not see")}
E413 = {413: error_response("The file is too large")}


def crud_schema(serializer_class: type[serializers.Serializer]):
    """Schema for a ModelViewSet: its bodies and its errors."""
    return extend_schema_view(
        list=extend_schema(responses={200: serializer_class, **E400, **E401}),
        retrieve=extend_schema(responses={200: serializer_class, **E401, **E404}),
        create=extend_schema(responses={201: serializer_class, **E400, **E401}),
        update=extend_schema(responses={200: serializer_class, **E400, **E401, **E404}),
        partial_update=extend_schema(responses={200: serializer_class, **E400, **E401, **E404}),
        destroy=extend_schema(responses={204: None, **E401, **E404}),
    )
