"""Request-level guards: oversized bodies refused before parsing, blank query parameters refused,
database outages answered 503.

Both answer in the API's JSON error shape (``{"detail", "code"}``, diary.api.errors) so the app
can tell "try again later" from a bug.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

# Multipart framing and the other form fields around the photo.
_BODY_OVERHEAD_BYTES = 1024 * 1024
RETRY_AFTER_SECONDS = 5


class RequestSizeLimitMiddleware:
    """413 for a body larger than the photo limit, judged by Content-Length before parsing.

    Django's multipart parser would otherwise spool any size of file to a temporary file before
    ``photo_create`` could refuse it, so a client could fill the disk with one request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.PHOTO_MAX_UPLOAD_BYTES + _BODY_OVERHEAD_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            return JsonResponse(
                {
                    "detail": f"The request has {length} bytes; at most {limit} are accepted.",
                    "code": "file_too_large",
                },
                status=413,
            )
        return self.get_response(request)


class BlankQueryParameterMiddleware:
    """400 for ``?body_site=`` (any query parameter with an empty value) under ``/api/``.

    DRF and django-filter read an empty value as "parameter absent", so ``?body_site=`` listed
    every site and ``?page=`` the first page without a word. A client that sends an empty value
    has almost always lost a variable on the way; saying so beats a plausible wrong answer.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            blank = [name for name, values in request.GET.lists() if "" in values]
            if blank:
                message = "This parameter may not be blank: give it a value or leave it out."
                return JsonResponse(
                    {
                        "detail": "Invalid input.",
                        "code": "invalid",
                        "errors": {name: [{"message": message, "code": "blank"}] for name in blank},
                    },
                    status=400,
                )
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """503 with a JSON error when the database cannot be reached, instead of a 500.

    A connection refused, dropped or timed out is an ``OperationalError`` or ``InterfaceError``;
    the services have already rolled back and removed any file written for the request (see
    ``photo_create``), so the client may simply retry. Integrity errors are bugs, not outages.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning(
            "Database unavailable during %s %s: %s", request.method, request.path, exception
        )
        response = JsonResponse(
            {
                "detail": "The service is briefly unavailable; nothing was stored. Try again.",
                "code": "service_unavailable",
            },
            status=503,
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
