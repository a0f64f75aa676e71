"""Recording who read or changed which patients' data: one AuditEvent per request.

Every patient-owned row the request instantiates (loaded by a queryset, or built to be saved)
adds its patient id to a per-request set through ``post_init``; the middleware writes one event
with all of them after the response. So the API, the admin, the file downloads and the exports are
all covered without any view having to remember, and a page of 20 photos costs one insert, not 20.

Views that read patient data without instantiating rows (``.values()`` aggregates such as the
progression series) are covered by the URL: a successful request under ``patients/<id>/`` counts
as touching that patient.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextvars import ContextVar

from django.db import DatabaseError
from django.db.models.signals import post_init
from django.http import HttpRequest, HttpResponse, JsonResponse

from .models import AuditEvent, BodySite, Patient, Photo, TreatmentEntry

logger = logging.getLogger(__name__)

_METHOD_ACTIONS = {
    "POST": AuditEvent.Action.CREATE,
    "PUT": AuditEvent.Action.UPDATE,
    "PATCH": AuditEvent.Action.UPDATE,
    "DELETE": AuditEvent.Action.DELETE,
}
_PATIENT_ROUTE_PREFIXES = ("api/v1/patients/",)


class _Collector:
    __slots__ = ("action", "patient_ids")

    def __init__(self) -> None:
        self.patient_ids: set[int] = set()
        self.action: str | None = None


_current: ContextVar[_Collector | None] = ContextVar("audit_collector", default=None)


def audit_touch(*, patient_ids: Iterable[int] = (), action: str | None = None) -> None:
    """Add patients to the current request's event, and optionally name its action."""
    collector = _current.get()
    if collector is None:
        return
    collector.patient_ids.update(int(pk) for pk in patient_ids)
    if action is not None:
        collector.action = action


def audit_record(
    *, actor, action: str, patient_ids: Iterable[int], view_name: str = "", path: str = ""
) -> AuditEvent:
    """Write one event outside a request (management commands, services run by staff)."""
    return AuditEvent.objects.create(
        **_actor_fields(actor),
        action=action,
        patient_ids=sorted({int(pk) for pk in patient_ids}),
        view_name=view_name,
        path=path[:500],
    )


def _on_post_init(sender, instance, **kwargs) -> None:
    collector = _current.get()
    if collector is None:
        return
    # __dict__, not attribute access: a deferred field must not cost a query here.
    key = "id" if sender is Patient else "patient_id"
    patient_id = instance.__dict__.get(key)
    if patient_id is not None:
        collector.patient_ids.add(patient_id)


for _model in (Patient, BodySite, Photo, TreatmentEntry):
    post_init.connect(_on_post_init, sender=_model, dispatch_uid=f"audit-{_model.__name__}")


def _actor_fields(user) -> dict:
    if user is None or not getattr(user, "is_authenticated", False):
        return {"actor_id": None, "actor_username": "", "actor_role": ""}
    return {
        "actor_id": user.pk,
        "actor_username": user.get_username(),
        "actor_role": getattr(user, "role", ""),
    }


def _client_ip(request: HttpRequest) -> str | None:
    # Behind the proxy the real address is the proxy's job to log; REMOTE_ADDR is what we know.
    return request.META.get("REMOTE_ADDR") or None


class AuditMiddleware:
    """Collects the patients a request touches and writes one AuditEvent for it.

    Fails closed: if the event cannot be written, the data is not handed out (503), because an
    unlogged read of health data is what the log exists to prevent.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        collector = _Collector()
        token = _current.set(collector)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        match = getattr(request, "resolver_match", None)
        if match is not None and response.status_code < 400:
            collector.patient_ids.update(_route_patient_ids(match))
        if not collector.patient_ids:
            return response
        action = collector.action or _METHOD_ACTIONS.get(request.method, AuditEvent.Action.READ)
        try:
            AuditEvent.objects.create(
                **_actor_fields(getattr(request, "user", None)),
                action=action,
                patient_ids=sorted(collector.patient_ids),
                method=request.method or "",
                path=request.path[:500],
                view_name=(match.view_name if match else "")[:200],
                status_code=response.status_code,
                ip_address=_client_ip(request),
            )
        except DatabaseError:
            logger.exception(
                "Could not write the audit event of %s %s", request.method, request.path
            )
            if response.status_code == 503:
                return response
            return JsonResponse(
                {
                    "detail": "The service is briefly unavailable. Try again.",
                    "code": "audit_failed",
                },
                status=503,
            )
        return response


def _route_patient_ids(match) -> list[int]:
    # Router routes are regexes ("api/v1/^patients/(?P<pk>...)"), path() routes are not.
    if not match.route.replace("^", "").startswith(_PATIENT_ROUTE_PREFIXES):
        return []
    for name in ("patient_pk", "patient_id", "pk"):
        value = match.kwargs.get(name)
        if value is not None and str(value).isdigit():
            return [int(value)]
    return []
