"""The mask editor's admin page and links, without a browser (tests/browser has the drawing):
who may open it, what it says before a photo is analysed, where it is linked from."""

from __future__ import annotations

import pytest
from django.urls import reverse

from diary.services.analysis import photos_analyse
from tests.conftest import client_for
from tests.diary.test_corrections_api import box_mask, mask_png, post_correction
from tests.factories import BodySiteFactory, PhotoFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def analysed_photo(patient_a):
    photo = PhotoFactory(body_site=BodySiteFactory(patient=patient_a))
    photos_analyse(photo_ids=[photo.pk])
    return photo


def _editor(photo) -> str:
    return reverse("admin:diary_photo_mask_editor", args=[photo.pk])


def test_the_correction_editor_opens_for_the_clinician_and_staff_with_the_api_url(
    client, analysed_photo, clinician, staff
):
    for user in (clinician, staff):
        client.force_login(user)
        page = client.get(_editor(analysed_photo))
        assert page.status_code == 200
        html = page.content.decode()
        assert 'id="mask-editor"' in html and "diary/mask_editor.js" in html
        assert reverse("api:photo-corrections", kwargs={"pk": analysed_photo.pk}) in html
        assert reverse("admin:diary_photo_file", args=[analysed_photo.pk, "model_mask"]) in html
        assert 'Loaded: <span class="mask-editor-loaded">the model\'s mask (' in html


def test_the_correction_editor_is_404_for_another_clinician_and_closed_to_the_patient(
    client, analysed_photo, other_clinician, patient_a
):
    client.force_login(other_clinician)
    assert client.get(_editor(analysed_photo)).status_code == 404
    client.force_login(patient_a.user)  # not staff: the admin sends them to its log-in page
    response = client.get(_editor(analysed_photo))
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]


def test_a_photo_not_analysed_yet_has_no_correction_editor_only_a_sentence(
    client, clinician, patient_a
):
    photo = PhotoFactory(body_site=BodySiteFactory(patient=patient_a))
    client.force_login(clinician)
    html = client.get(_editor(photo)).content.decode()
    assert "has not been analysed yet" in html and 'id="mask-editor"' not in html
    change = client.get(reverse("admin:diary_photo_change", args=[photo.pk])).content.decode()
    assert "not analysed yet: no mask to correct" in change


def test_the_photo_page_lists_its_corrections_and_the_editor_says_which_mask_is_loaded(
    client, analysed_photo, clinician
):
    api = client_for(clinician)
    for box in ((5, 5, 20, 20), (10, 10, 30, 40)):
        assert post_correction(api, analysed_photo, mask_png(box_mask(*box))).status_code == 201
    client.force_login(clinician)
    change = client.get(reverse("admin:diary_photo_change", args=[analysed_photo.pk]))
    html = change.content.decode()
    assert _editor(analysed_photo) in html
    assert html.count(f"by {clinician.username}, model baseline:colour-threshold-v1: F1 ") == 2
    editor = client.get(_editor(analysed_photo)).content.decode()
    assert f"a clinician's correction ({clinician.username}, " in editor
    assert "2 corrections saved so far" in editor
    assert 'data-corrections="2"' in editor
