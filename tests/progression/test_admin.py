"""The clinician's progression page in the admin: scoped, with charts, overlays, treatments."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from PIL import Image

from tests.factories import TreatmentEntryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(patient_a, make_series):
    site, _ = make_series(patient_a, [0.4, 0.3, 0.2])
    TreatmentEntryFactory(patient=patient_a, body_site=site, dose="NB-UVB 250 mJ/cm2")
    return site


def test_patient_list_links_to_the_progression_page(client, clinician, patient_a, patient_b):
    client.force_login(clinician)
    page = client.get(reverse("admin:diary_patient_changelist")).content.decode()
    assert reverse("admin:diary_patient_progression", args=[patient_a.pk]) in page
    assert reverse("admin:diary_patient_progression", args=[patient_b.pk]) not in page


def test_page_has_chart_timeline_and_treatments(client, clinician, patient_a, site):
    client.force_login(clinician)
    response = client.get(reverse("admin:diary_patient_progression", args=[patient_a.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    chart = reverse("admin:diary_patient_progression_chart", args=[patient_a.pk, site.pk])
    assert chart in page
    assert page.count('class="timeline-overlay"') == 3
    assert "NB-UVB 250 mJ/cm2" in page and "improving" in page
    png = client.get(chart)
    assert png.status_code == 200
    with Image.open(io.BytesIO(png.content)) as image:
        assert image.format == "PNG"
    photo_id = site.photos.first().pk
    overlay = client.get(reverse("admin:diary_photo_file", args=[photo_id, "overlay"]))
    assert overlay.status_code == 200


def test_unassigned_patient_is_not_reachable(client, clinician, patient_b, make_series):
    other_site, _ = make_series(patient_b, [0.3])
    client.force_login(clinician)
    page = client.get(reverse("admin:diary_patient_progression", args=[patient_b.pk]))
    chart = client.get(
        reverse("admin:diary_patient_progression_chart", args=[patient_b.pk, other_site.pk])
    )
    assert page.status_code == 404 and chart.status_code == 404


def test_chart_of_a_site_of_another_patient_is_404(client, clinician, patient_a, make_series):
    from tests.factories import BodySiteFactory

    foreign = BodySiteFactory()
    client.force_login(clinician)
    response = client.get(
        reverse("admin:diary_patient_progression_chart", args=[patient_a.pk, foreign.pk])
    )
    assert response.status_code == 404


def test_change_form_links_to_the_progression_page(client, clinician, patient_a):
    client.force_login(clinician)
    page = client.get(reverse("admin:diary_patient_change", args=[patient_a.pk])).content.decode()
    assert reverse("admin:diary_patient_progression", args=[patient_a.pk]) in page
