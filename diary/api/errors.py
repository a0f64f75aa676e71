"""Every API error is JSON of one shape: ``{"detail": str, "code": str, "errors"?: {...}}``."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import Resolver404, resolve
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from ..services.errors import ServiceError


def json_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, ServiceError):
        body = {"detail": exc.message, "code": exc.code}
        if exc.field:
            body["errors"] = {exc.field: [{"message": exc.message, "code": exc.code}]}
        return Response(body, status=exc.status)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.get_full_details()
        codes = _codes(errors)
        if "does_not_exist" in codes:
            # An id naming nothing the requester may see: the answer its own URL would give, so
            # that a filter or a body is no oracle for another patient's ids either. It comes
            # first, as a 404 of the path comes before the body is read; ``errors`` lists all.
            response.status_code = status.HTTP_404_NOT_FOUND
            response.data = {"detail": "Not found.", "code": "not_found", "errors": errors}
        elif codes == {"unique"}:
            # Well-formed, but it clashes with a row that exists: a conflict, not bad input.
            response.status_code = status.HTTP_409_CONFLICT
            response.data = {"detail": "Conflict.", "code": "conflict", "errors": errors}
        else:
            response.data = {"detail": "Invalid input.", "code": "invalid", "errors": errors}
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        code = detail.code if hasattr(detail, "code") else exc.default_code
        response.data = {"detail": str(detail), "code": str(code)}
    return response


def _codes(details) -> set[str]:
    if isinstance(details, dict) and set(details) == {"message", "code"}:
        return {str(details["code"])}
    items = details.values() if isinstance(details, dict) else details
    return set().union(*(_codes(item) for item in items)) if items else set()


def json_not_found(request, exception=None):
    if not request.path.startswith("/api/"):
        return defaults.page_not_found(request, exception)
    return JsonResponse(
        {"detail": "Not found.", "code": "not_found"}, status=status.HTTP_404_NOT_FOUND
    )


@csrf_exempt
def endpoint_not_found(request: HttpRequest, unmatched: str = "") -> JsonResponse:
    """The last route under /api/v1/: no endpoint here, or an id of the wrong shape (``0.5``).

    A route of its own rather than ``handler404``, which Django bypasses under DEBUG for its HTML
    page that also lists every URL pattern; this way the answer is the same in both modes.
    """
    detail = "No API endpoint at this URL."
    if not request.path.endswith("/") and _is_endpoint(request.path + "/"):
        # What CommonMiddleware's APPEND_SLASH would redirect to, without losing a POST's body.
        detail += f" Did you mean {request.path}/ (with a trailing slash)?"
    return JsonResponse({"detail": detail, "code": "not_found"}, status=status.HTTP_404_NOT_FOUND)


def _is_endpoint(path: str) -> bool:
    try:
        return resolve(path).func is not endpoint_not_found
    except Resolver404:
        return False


def json_server_error(request):
    if not request.path.startswith("/api/"):
        return defaults.server_error(request)
    return JsonResponse(
        {"detail": "Internal server error.", "code": "server_error"},
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
