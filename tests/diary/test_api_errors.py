"""Every error under /api/v1/ is the documented JSON (issue 11, section 3).

Malformed ids and unknown paths answer ``{"detail", "code"}`` in DEBUG as in production (never
Django's HTML page, which under DEBUG lists every URL pattern); upload errors name the field at
fault; a blank query parameter is refused rather than silently ignored.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from diary.models import Photo
from tests.conftest import client_for
from tests.factories import BodySiteFactory
from tests.images import photo_bytes
from tests.security import corpus

pytestmark = pytest.mark.django_db

MALFORMED = [
    ("get", "/api/v1/patients/null,null/series/"),
    ("get", "/api/v1/photos/0.5/image/"),
    ("get", "/api/v1/photos/-1e-40/"),
    ("delete", "/api/v1/body-sites/.exe/"),
    ("post", "/api/v1/photos/0.5/mask/"),
    ("get", "/api/v1/no-such-endpoint/"),
]


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "production"])
@pytest.mark.parametrize(("method", "path"), MALFORMED)
def test_malformed_ids_and_unknown_paths_answer_json_404(settings, patient_a, debug, method, path):
    settings.DEBUG = debug
    response = getattr(client_for(patient_a.user), method)(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"detail", "code"} and body["code"] == "not_found"


def test_a_missing_trailing_slash_is_named(patient_a):
    response = client_for(patient_a.user).post("/api/v1/photos", {})
    assert response.status_code == 404
    assert "Did you mean /api/v1/photos/" in response.json()["detail"]


def test_an_unknown_path_is_json_even_for_anonymous_clients(api_client):
    response = api_client.get("/api/v1/patients/1/nothing/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def _upload(user, data):
    return client_for(user).post(reverse("api:photo-list"), data, format="multipart")


def _image(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def test_a_text_file_named_jpg_says_what_is_wrong_with_the_image(patient_a):
    site = BodySiteFactory(patient=patient_a)
    response = _upload(patient_a.user, {"image": _image("x.jpg", b"hello"), "body_site": site.pk})
    assert response.status_code == 400
    body = response.json()
    [error] = body["errors"]["image"]
    assert error["code"] == body["code"] == "invalid_image"
    assert "not JPEG, PNG, WebP or HEIC" in error["message"]
    assert "BytesIO" not in response.content.decode() and "0x" not in response.content.decode()
    assert Photo.objects.count() == 0


@pytest.mark.parametrize(
    ("data", "field", "code", "words"),
    [
        ({"image": "not a file"}, "image", "invalid", "was not a file"),
        ({"image": None}, "image", "required", "No file was submitted"),
        ({"image": ("e.jpg", b"")}, "image", "empty", "empty"),
        ({"image": ("a.gif", corpus.animated("GIF"))}, "image", "unsupported_format", "GIF"),
        ({"image": ("s.png", photo_bytes((8, 8)))}, "image", "too_small", "at least 16"),
        ({"site": None}, "body_site", "required", "required"),
        ({"site": "abc"}, "body_site", "incorrect_type", "Expected pk value"),
        ({"taken_at": "yesterday"}, "taken_at", "invalid", "Datetime has wrong format"),
    ],
)
def test_each_upload_error_names_its_field(patient_a, data, field, code, words):
    site = BodySiteFactory(patient=patient_a)
    form = {"image": _image("p.png", photo_bytes()), "body_site": site.pk}
    for key, value in data.items():
        if key == "site":
            form.pop("body_site")
            if value is not None:
                form["body_site"] = value
        elif value is None:
            form.pop(key)
        elif isinstance(value, tuple):
            form[key] = _image(*value)
        else:
            form[key] = value
    response = _upload(patient_a.user, form)
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert list(errors) == [field]
    [error] = errors[field]
    assert error["code"] == code
    assert words in error["message"]
    assert "<" not in error["message"]  # no Python reprs
    assert Photo.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("api:photo-list", "body_site="),
        ("api:photo-list", "status=&page=2"),
        ("api:treatment-list", "date_after="),
        ("api:body-site-list", "ordering="),
        ("api:patient-list", "page="),
        ("series", "body_site="),
        ("series", "format="),
        ("chart", "body_site=&from=2026-01-01"),
    ],
)
def test_a_blank_query_parameter_is_a_400_naming_it(patient_a, name, query):
    site = BodySiteFactory(patient=patient_a)
    if name == "series":
        path = reverse("api:patient-series", args=[patient_a.pk])
    elif name == "chart":
        path = reverse("api:patient-chart-png", args=[patient_a.pk])
    else:
        path = reverse(name)
    client = client_for(patient_a.user)
    response = client.get(f"{path}?{query}")
    assert response.status_code == 400, response.content
    blank = [pair.split("=")[0] for pair in query.split("&") if pair.endswith("=")]
    assert sorted(response.json()["errors"]) == sorted(blank)
    assert response.json()["errors"][blank[0]][0]["code"] == "blank"
    # The same request without the blank parameter is fine.
    kept = "&".join(pair for pair in query.split("&") if not pair.endswith("="))
    if name == "chart":
        kept += f"&body_site={site.pk}"
    assert client.get(f"{path}?{kept}").status_code in (200, 404)  # 404: ?page=2 has no rows


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("api:photo-list", "body_site={other_site}"),
        ("api:photo-list", "patient=999999"),
        ("api:treatment-list", "body_site=0"),
        ("api:body-site-list", "patient={other_patient}"),
    ],
)
def test_an_id_filter_naming_nothing_visible_is_a_404(patient_a, patient_b, name, query):
    other_site = BodySiteFactory(patient=patient_b)
    query = query.format(other_site=other_site.pk, other_patient=patient_b.pk)
    response = client_for(patient_a.user).get(f"{reverse(name)}?{query}")
    assert response.status_code == 404, response.content
    [field] = response.json()["errors"]
    assert response.json()["errors"][field][0]["code"] == "does_not_exist"
    # Not an id at all is still a plain 400.
    bad = client_for(patient_a.user).get(f"{reverse(name)}?{field}=abc")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"


def test_an_upload_to_a_site_that_does_not_exist_is_a_404_naming_body_site(patient_a):
    response = _upload(patient_a.user, {"image": _image("p.png", photo_bytes()), "body_site": 0})
    assert response.status_code == 404
    assert response.json()["errors"]["body_site"][0]["code"] == "does_not_exist"
    assert Photo.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url_name", "body"),
    [
        ("api:body-site-list", {"region": "scalp", "label": 2.5}),
        ("api:treatment-list", {"date": "2026-01-01", "kind": "topical", "notes": 7}),
    ],
)
def test_a_number_where_the_schema_says_string_is_a_400(url_name, body):
    from diary.models import BodySite, TreatmentEntry
    from tests.conftest import client_for
    from tests.factories import PatientFactory

    patient = PatientFactory()
    response = client_for(patient.user).post(reverse(url_name), body, format="json")
    assert response.status_code == 400
    field = "label" if "label" in body else "notes"
    assert response.json()["errors"][field][0]["message"] == "Not a valid string."
    assert not BodySite.objects.exists() and not TreatmentEntry.objects.exists()


def test_the_schemas_not_blank_pattern_is_pythons_strip():
    import re

    from diary.api.schema_hooks import _NOT_BLANK

    whitespace = [c for c in map(chr, range(0x110000)) if c.isspace()]
    for text in [*whitespace, "".join(whitespace), "\ufeff", "a", f" {chr(0x1D)}x "]:
        assert bool(re.fullmatch(_NOT_BLANK, text)) == bool(text.strip()), repr(text)
