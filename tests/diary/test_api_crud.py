"""Body sites, treatments, auth tokens, filters and pagination through the API."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from diary.models import BodySite, TreatmentEntry
from tests.conftest import client_for
from tests.factories import BodySiteFactory, PhotoFactory, TreatmentEntryFactory

pytestmark = pytest.mark.django_db


def test_patient_creates_updates_and_deletes_own_body_site(patient_a):
    client = client_for(patient_a.user)
    created = client.post(reverse("api:body-site-list"), {"region": "face", "label": "left cheek"})
    assert created.status_code == 201, created.json()
    site_id = created.json()["id"]
    assert BodySite.objects.get(pk=site_id).patient == patient_a
    url = reverse("api:body-site-detail", args=[site_id])
    assert client.patch(url, {"label": "right cheek"}).json()["label"] == "right cheek"
    assert client.delete(url).status_code == 204
    assert not BodySite.objects.filter(pk=site_id).exists()


def test_duplicate_body_site_label_is_a_clear_409(patient_a):
    BodySiteFactory(patient=patient_a, label="neck")
    response = client_for(patient_a.user).post(
        reverse("api:body-site-list"), {"region": "neck", "label": "neck"}
    )
    assert response.status_code == 409  # well-formed, but a duplicate: a conflict
    assert response.json()["code"] == "conflict"
    assert response.json()["errors"]["label"][0]["code"] == "unique"


def test_unknown_region_is_rejected(patient_a):
    response = client_for(patient_a.user).post(
        reverse("api:body-site-list"), {"region": "elbow-ish", "label": "x"}
    )
    assert response.status_code == 400
    assert "region" in response.json()["errors"]


def test_clinician_must_name_the_patient_and_may_log_treatments(clinician, patient_a):
    client = client_for(clinician)
    missing = client.post(reverse("api:treatment-list"), {"date": "2026-01-05", "kind": "topical"})
    assert missing.status_code == 400
    assert "patient" in missing.json()["errors"]
    response = client.post(
        reverse("api:treatment-list"),
        {
            "patient": patient_a.pk,
            "date": "2026-01-05",
            "kind": "topical",
            "dose": "tacrolimus 0.1%",
        },
    )
    assert response.status_code == 201
    assert TreatmentEntry.objects.get(pk=response.json()["id"]).patient == patient_a


def test_treatment_body_site_must_belong_to_the_patient(clinician, patient_a):
    foreign_site = BodySiteFactory(patient__clinicians=[clinician])
    response = client_for(clinician).post(
        reverse("api:treatment-list"),
        {
            "patient": patient_a.pk,
            "date": "2026-01-05",
            "kind": "oral",
            "body_site": foreign_site.pk,
        },
    )
    assert response.status_code == 400
    assert "body_site" in response.json()["errors"]


def test_treatments_filter_by_date_range(patient_a):
    for day in (1, 10, 20):
        TreatmentEntryFactory(patient=patient_a, date=dt.date(2026, 3, day))
    response = client_for(patient_a.user).get(
        reverse("api:treatment-list"), {"date_after": "2026-03-05", "date_before": "2026-03-15"}
    )
    assert [row["date"] for row in response.json()["results"]] == ["2026-03-10"]


def test_photos_filter_by_body_site_and_date_and_paginate(patient_a):
    site, other_site = BodySiteFactory(patient=patient_a), BodySiteFactory(patient=patient_a)
    start = timezone.now() - dt.timedelta(days=100)
    for day in range(25):
        PhotoFactory(body_site=site, taken_at=start + dt.timedelta(days=day))
    PhotoFactory(body_site=other_site, taken_at=start + dt.timedelta(days=3))
    client = client_for(patient_a.user)

    first = client.get(reverse("api:photo-list"), {"body_site": site.pk}).json()
    assert first["count"] == 25
    assert len(first["results"]) == 20
    assert first["next"]
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 5

    window = client.get(
        reverse("api:photo-list"),
        {
            "body_site": site.pk,
            "taken_after": (start + dt.timedelta(days=5)).isoformat(),
            "taken_before": (start + dt.timedelta(days=9)).isoformat(),
        },
    ).json()
    assert window["count"] == 5


def test_login_rotates_token_and_expired_tokens_are_refused(api_client, patient_a, settings):
    url = reverse("api:login")
    bad = api_client.post(url, {"username": patient_a.user.username, "password": "nope"})
    assert bad.status_code == 401
    assert bad.json()["code"] == "invalid_credentials"

    first = api_client.post(
        url, {"username": patient_a.user.username, "password": "correct-horse-battery"}
    )
    second = api_client.post(
        url, {"username": patient_a.user.username, "password": "correct-horse-battery"}
    )
    assert first.status_code == second.status_code == 200
    old, new = first.json()["token"], second.json()["token"]
    assert old != new

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert api_client.get(reverse("api:me")).status_code == 401
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {new}")
    assert api_client.get(reverse("api:me")).status_code == 200

    Token.objects.filter(key=new).update(
        created=timezone.now() - settings.API_TOKEN_TTL - dt.timedelta(seconds=1)
    )
    expired = api_client.get(reverse("api:me"))
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]


def test_logout_revokes_the_token(api_client, patient_a):
    token = Token.objects.create(user=patient_a.user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api_client.post(reverse("api:logout")).status_code == 204
    assert api_client.get(reverse("api:me")).status_code == 401


def test_unknown_api_path_is_json_404(api_client):
    response = api_client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
