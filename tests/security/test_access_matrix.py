"""Every URL of the API (and every file download) for every role, built from the URL configuration.

``ENDPOINTS`` says how to fill each URL and which patient its object belongs to. The endpoints are
discovered from ``get_resolver()``, so a new URL without an entry here fails
``test_every_endpoint_has_an_access_case`` instead of going untested.

Expected answers: anonymous 401 (the admin: a redirect to its login); a role that may see the
patient gets the exact answer of a valid request (``ANSWERS``: 200, 201 on create, 204 on delete,
unless the entry says otherwise); a role that may not gets 404, never 403, so ids cannot be probed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from diary.models import BodySite, Patient, Photo, TreatmentEntry
from tests.factories import AnalysisFactory, BodySiteFactory, PhotoFactory, TreatmentEntryFactory
from tests.images import photo_bytes

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "patient_a", "patient_b", "clinician_a", "clinician_b", "staff"]
SEES = {
    "anonymous": set(),
    "patient_a": {"a"},
    "patient_b": {"b"},
    "clinician_a": {"a"},
    "clinician_b": {"b"},
    "staff": {"a", "b"},
}
UNSAFE = ("post", "put", "patch", "delete")
#: What a valid request answers, per method, to a role that may make it.
ANSWERS = {"get": 200, "post": 201, "put": 200, "patch": 200, "delete": 204}


@dataclass(frozen=True)
class Endpoint:
    """How to call one URL name.

    kind: "object" (URL names one patient's row), "list" (rows of the visible patients),
    "user" (the caller's own data, any signed-in user), "public" (no authentication).
    kwargs: fills the URL from one patient's rows (``World`` side).
    list_patient: in a list row, the key naming its patient.
    create: a body for POST naming the given side's rows.
    query: the query string a GET needs (a chart needs its body site).
    update: a valid body for PUT and PATCH of the given side's row.
    forbidden: roles that see the patient but may not use this method: 403.
    hidden: roles that see the patient but for whom this method does not exist: 404 (correcting
        a mask is for the patient's clinicians and staff, issue 21).
    answers: the status a permitted call answers, where it is not ``ANSWERS[method]``.
    """

    kind: str
    kwargs: Callable[[dict], dict] = lambda rows: {}
    list_patient: str = "patient"
    create: Callable[[dict], dict] | None = None
    forbidden: dict[str, set[str]] = field(default_factory=dict)
    hidden: dict[str, set[str]] = field(default_factory=dict)
    admin: bool = False
    query: Callable[[dict], dict] = lambda rows: {}
    update: Callable[[dict], dict] | None = None
    answers: dict[str, int] = field(default_factory=dict)

    def answer(self, method: str) -> int:
        return self.answers.get(method, ANSWERS[method])


def _pk(key: str) -> Callable[[dict], dict]:
    return lambda rows: {"pk": rows[key]}


def _photo_upload(rows: dict) -> dict:
    image = SimpleUploadedFile("x.png", photo_bytes(colour_shift=rows["patient"] + 7))
    return {"image": image, "body_site": rows["body_site"]}


def _site_query(rows: dict) -> dict:
    return {"body_site": rows["body_site"]}


def _site_body(rows: dict) -> dict:
    return {"patient": rows["patient"], "region": "hands", "label": "renamed site"}


def _treatment_body(rows: dict) -> dict:
    site = rows["body_site"]
    return {"patient": rows["patient"], "body_site": site, "date": "2024-01-03", "kind": "oral"}


ENDPOINTS: dict[str, Endpoint] = {
    "api:api-root": Endpoint("user"),
    # Called without credentials: a validation error, not an authentication one.
    "api:login": Endpoint("public", answers={"post": 400}),
    "api:logout": Endpoint("user", answers={"post": 204}),
    "api:me": Endpoint("user"),
    "api:schema": Endpoint("public"),
    "api:docs": Endpoint("public"),
    "api:patient-list": Endpoint("list", list_patient="id"),
    "api:patient-detail": Endpoint("object", _pk("patient")),
    "api:patient-export": Endpoint("object", _pk("patient")),
    "api:patient-erasure": Endpoint(
        "object", _pk("patient"), forbidden={"delete": {"clinician_a", "clinician_b"}}
    ),
    # Issue 21: consent is read by all who see the patient, changed in the API by the patient
    # only (clinicians and staff record it in the admin).
    "api:patient-research-consent": Endpoint(
        "object",
        _pk("patient"),
        update=lambda rows: {"research_consent": True},
        forbidden={"put": {"clinician_a", "clinician_b", "staff"}},
    ),
    # Progression (issue 6): everything under patients/<pk>/ is that patient's.
    "api:patient-series": Endpoint("object", _pk("patient")),
    "api:patient-trends": Endpoint("object", _pk("patient")),
    "api:patient-series-csv": Endpoint("object", _pk("patient")),
    "api:patient-fhir": Endpoint("object", _pk("patient")),
    "api:patient-chart-png": Endpoint("object", _pk("patient"), query=_site_query),
    "api:patient-chart-svg": Endpoint("object", _pk("patient"), query=_site_query),
    "api:body-site-list": Endpoint(
        "list",
        create=lambda rows: {"patient": rows["patient"], "region": "hands", "label": "new site"},
    ),
    "api:body-site-detail": Endpoint("object", _pk("body_site"), update=_site_body),
    "api:treatment-list": Endpoint(
        "list",
        create=lambda rows: {
            "patient": rows["patient"],
            "body_site": rows["body_site"],
            "date": "2024-01-02",
            "kind": "oral",
        },
    ),
    "api:treatment-detail": Endpoint("object", _pk("treatment"), update=_treatment_body),
    "api:photo-list": Endpoint("list", create=_photo_upload),
    "api:photo-detail": Endpoint("object", _pk("photo")),
    "api:photo-image": Endpoint("object", _pk("photo")),
    "api:photo-mask": Endpoint("object", _pk("photo")),
    "api:photo-overlay": Endpoint("object", _pk("photo")),
    # Photo quality (issue 22): the dry run reads no patient's rows (415: the matrix sends JSON,
    # the dry run takes multipart); the inclusion is answered per photo (400: no `include` sent;
    # 403 for patients is in tests/diary/test_photo_quality_api.py).
    "api:photo-check": Endpoint("user", answers={"post": 415}),
    "api:photo-quality-override": Endpoint("object", _pk("photo"), answers={"post": 400}),
    # Issue 23: a photo against itself (the pair's own 404s: tests/diary/test_api_change.py).
    **{
        f"api:photo-change{suffix}": Endpoint(
            "object", _pk("photo"), query=lambda rows: {"against": rows["photo"]}
        )
        for suffix in ("", "-overlay", "-aligned")
    },
    # Issue 21: every viewer reads the corrections; only clinicians and staff post one (415: the
    # matrix sends JSON, a mask is multipart; valid ones are tests/diary/test_corrections_api.py's).
    "api:photo-corrections": Endpoint(
        "object",
        _pk("photo"),
        answers={"post": 415},
        hidden={"post": {"patient_a", "patient_b"}},
    ),
    "admin:diary_photo_file": Endpoint(
        "object", lambda rows: {"pk": rows["photo"], "kind": "overlay"}, admin=True
    ),
}


def _walk(patterns, prefix: str = "", namespace: str | None = None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = namespace
            if pattern.namespace:
                ns = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
        elif isinstance(pattern, URLPattern) and pattern.name:
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            yield prefix + str(pattern.pattern), name, pattern.callback


def _methods(callback) -> list[str]:
    actions = getattr(callback, "actions", None)
    if actions:
        return sorted(actions)
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is None:  # a plain function view (the admin's file view): reads only
        return ["get"]
    return sorted(m for m in ("get", *UNSAFE) if hasattr(view_class, m))


def discovered() -> dict[str, list[str]]:
    """URL name -> methods, for the API and for every file download of the admin."""
    found: dict[str, set[str]] = {}
    for route, name, callback in _walk(get_resolver().url_patterns):
        is_api = route.startswith("api/v1/")
        is_admin_file = route.startswith("admin/") and any(
            word in name for word in ("file", "download", "export")
        )
        if is_api or is_admin_file:
            found.setdefault(name, set()).update(_methods(callback))
    return {name: sorted(methods) for name, methods in found.items()}


DISCOVERED = discovered()
CASES = [
    pytest.param(name, method, role, id=f"{name}-{method}-{role}")
    for name, methods in sorted(DISCOVERED.items())
    if name in ENDPOINTS
    for method in methods
    for role in ROLES
]


def test_every_endpoint_has_an_access_case():
    missing = sorted(set(DISCOVERED) - set(ENDPOINTS))
    assert not missing, f"Add these URL names to ENDPOINTS in {__name__}: {missing}"
    stale = sorted(set(ENDPOINTS) - set(DISCOVERED))
    assert not stale, f"These ENDPOINTS no longer exist: {stale}"


@pytest.fixture
def world(patient_a, patient_b, clinician, other_clinician, staff):
    rows = {}
    for side, patient in (("a", patient_a), ("b", patient_b)):
        site = BodySiteFactory(patient=patient)
        photo = PhotoFactory(body_site=site)
        AnalysisFactory(photo=photo)
        treatment = TreatmentEntryFactory(patient=patient, body_site=site)
        rows[side] = {
            "patient": patient.pk,
            "body_site": site.pk,
            "photo": photo.pk,
            "treatment": treatment.pk,
        }
    users = {
        "anonymous": None,
        "patient_a": patient_a.user,
        "patient_b": patient_b.user,
        "clinician_a": clinician,
        "clinician_b": other_clinician,
        "staff": staff,
    }
    return rows, users


def _client(user, *, admin: bool) -> APIClient:
    client = APIClient()
    if user is not None:
        # The admin authenticates by session; the API here by DRF's forced authentication.
        client.force_login(user) if admin else client.force_authenticate(user)
    return client


def _rows_of(side_rows: dict) -> dict[str, int]:
    return {
        "patients": Patient.objects.filter(pk=side_rows["patient"]).count(),
        "body_sites": BodySite.objects.filter(patient_id=side_rows["patient"]).count(),
        "treatments": TreatmentEntry.objects.filter(patient_id=side_rows["patient"]).count(),
        "photos": Photo.objects.filter(patient_id=side_rows["patient"]).count(),
    }


def _call(client, method: str, url: str, body: dict | None):
    if method == "get":
        return client.get(url, body or {})
    fmt = "multipart" if body and any(hasattr(v, "read") for v in body.values()) else "json"
    return getattr(client, method)(url, body or {}, format=fmt)


@pytest.mark.parametrize(("name", "method", "role"), CASES)
def test_endpoint_answers_each_role(world, name, method, role):
    rows, users = world
    spec = ENDPOINTS[name]
    client = _client(users[role], admin=spec.admin)
    sees = SEES[role]

    if spec.kind == "public":
        response = _call(client, method, reverse(name), {})
        assert response.status_code == spec.answer(method), response.content
        return
    if role == "anonymous":
        side = rows["a"]
        kwargs = spec.kwargs(side) if spec.kind == "object" else {}
        response = _call(client, method, reverse(name, kwargs=kwargs), None)
        if spec.admin:
            assert response.status_code == 302 and "/login/" in response["Location"]
        else:
            assert response.status_code == 401
            assert response.json()["code"] == "not_authenticated"
        return
    if spec.kind == "user":
        response = _call(client, method, reverse(name), None)
        assert response.status_code == spec.answer(method), response.content
        return
    if spec.kind == "list":
        _check_list(client, name, method, role, spec, rows)
        return

    if spec.admin and role.startswith("patient"):
        # Patients are no admin users at all: sent to the admin's login page.
        response = client.get(reverse(name, kwargs=spec.kwargs(rows["a"])))
        assert response.status_code == 302 and "/login/" in response["Location"]
        return
    for side in ("b", "a"):  # the invisible side first, while the visible one is intact
        before = _rows_of(rows[side])
        url = reverse(name, kwargs=spec.kwargs(rows[side]))
        response = _call(client, method, url, _body(spec, method, rows[side]))
        if side not in sees or role in spec.hidden.get(method, set()):
            assert response.status_code == 404, (side, response.status_code)
            assert spec.admin or response.json()["code"] == "not_found"
            assert _rows_of(rows[side]) == before, "a refused request changed another's rows"
        elif role in spec.forbidden.get(method, set()):
            assert response.status_code == 403
            assert _rows_of(rows[side]) == before
        else:
            assert response.status_code == spec.answer(method), (side, response.content)
            if method in ("put", "patch"):  # the write happened, as sent
                sent = spec.update(rows[side])
                assert {key: response.json()[key] for key in sent} == sent


def _body(spec: Endpoint, method: str, side_rows: dict) -> dict | None:
    if method == "get":
        return spec.query(side_rows)
    if method in ("put", "patch"):
        assert spec.update is not None, f"no update body for {method}"
        return spec.update(side_rows)
    return None


def _check_list(client, name, method, role, spec, rows):
    visible_ids = {rows[side]["patient"] for side in SEES[role]}
    if method == "get":
        response = client.get(reverse(name))
        assert response.status_code == 200
        listed = {row[spec.list_patient] for row in response.json()["results"]}
        assert listed == visible_ids
        return
    assert method == "post" and spec.create is not None, f"no create body for {name}"
    hidden = [side for side in ("a", "b") if side not in SEES[role]]
    side = hidden[0] if hidden else "a"
    before = _rows_of(rows[side])
    response = _call(client, "post", reverse(name), spec.create(rows[side]))
    if hidden:
        # Naming another patient's rows in a body answers like their URL: 404, like a missing id.
        assert response.status_code == 404
        assert response.json()["code"] == "not_found" and response.json()["errors"]
        assert _rows_of(rows[side]) == before
    else:
        assert response.status_code == spec.answer("post"), response.content
