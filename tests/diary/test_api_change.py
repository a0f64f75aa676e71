"""``GET /photos/{id}/change/?against=`` and its PNGs, through the API with pipeline analyses."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from PIL import Image

from diary.services import alignment as alignment_service
from diary.services.analysis import photos_analyse
from segmentation.registration.synthetic import similarity, transformed
from tests.conftest import client_for
from tests.factories import AnalysisFactory, BodySiteFactory, PhotoFactory
from tests.registration.scenes import stored_photo, textured_skin

pytestmark = pytest.mark.django_db

SHAPE = (300, 400)
# The lesion's radius shrinks from 0.18 to 0.12 of the short side: 1 - (12/18)^2 = 56 % of the
# earlier lesion repigments, and nothing new appears.
EXPECTED_REPIGMENTED = 1 - (0.12 / 0.18) ** 2


@pytest.fixture
def diary(patient_a, patient_b):
    alignment_service._BASELINE_FEATURES.clear()
    site = BodySiteFactory(patient=patient_a, label="left hand")
    before, _ = textured_skin(SHAPE, seed=3, lesion_radius=0.18)
    after, _ = textured_skin(SHAPE, seed=3, lesion_radius=0.12)  # same skin, smaller lesion
    moved = similarity(SHAPE, degrees=10, scale=1.08, shift=(8.0, -5.0))
    photos = {
        "before": stored_photo(site, before, day=0),
        "after": stored_photo(site, transformed(after, moved), day=60),
        "other": stored_photo(site, textured_skin(SHAPE, seed=42)[0], day=90),
    }
    photos_analyse(photo_ids=[p.pk for p in photos.values()])
    photos["unanalysed"] = PhotoFactory(body_site=site)
    photos["other_site"] = AnalysisFactory(
        photo__body_site=BodySiteFactory(patient=patient_a)
    ).photo
    photos["foreign"] = AnalysisFactory(photo__body_site=BodySiteFactory(patient=patient_b)).photo
    return photos


def _change(client, photo, against, kind=""):
    name = f"api:photo-change-{kind}" if kind else "api:photo-change"
    return client.get(reverse(name, args=[photo.pk]), {"against": against.pk})


def test_repigmentation_between_two_dated_photos(diary, patient_a):
    client = client_for(patient_a.user)
    response = _change(client, diary["after"], diary["before"])
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["aligned"] is True and body["reason"] == ""
    assert (body["earlier"]["id"], body["later"]["id"]) == (diary["before"].pk, diary["after"].pk)
    assert body["repigmented_share"] == pytest.approx(EXPECTED_REPIGMENTED, abs=0.1)
    assert body["new_lesion_share"] < 0.05
    assert body["unchanged_share"] == pytest.approx(1 - EXPECTED_REPIGMENTED, abs=0.1)
    assert 0 <= body["transform_error_px"] < 2.0
    assert 0.5 < body["overlap"] <= 1.0
    # The order of the two ids does not matter: the earlier photo is the frame either way.
    reverse_body = _change(client, diary["before"], diary["after"]).json()
    assert reverse_body["repigmented_share"] == body["repigmented_share"]
    assert reverse_body["earlier"] == body["earlier"]

    for url in (body["overlay_url"], body["aligned_url"]):
        picture = client.get(url)
        assert picture.status_code == 200
        assert picture["Content-Type"] == "image/png"
        assert picture["Cache-Control"] == "private, no-store"
        with Image.open(io.BytesIO(picture.content)) as image:
            assert image.width == SHAPE[1] and image.height >= SHAPE[0]


def test_unaligned_photos_give_no_shares_and_no_pictures(diary, patient_a):
    client = client_for(patient_a.user)
    body = _change(client, diary["other"], diary["before"]).json()
    assert body["aligned"] is False
    assert body["reason"].startswith("the later photo could not be aligned")
    for key in ("repigmented_share", "new_lesion_share", "unchanged_share", "overlap",
                "transform_error_px", "overlay_url", "aligned_url"):  # fmt: skip
        assert body[key] is None
    overlay = _change(client, diary["other"], diary["before"], "overlay")
    assert overlay.status_code == 404 and overlay.json()["code"] == "not_aligned"


def test_what_the_user_may_not_see_is_a_404(diary, patient_a, patient_b, clinician,
                                            other_clinician):  # fmt: skip
    own = client_for(patient_a.user)
    for kind in ("", "overlay", "aligned"):
        response = _change(own, diary["before"], diary["foreign"], kind)
        assert response.status_code == 404
        assert response.json()["errors"]["against"][0]["code"] == "does_not_exist"
        assert _change(own, diary["foreign"], diary["before"], kind).status_code == 404
    assert _change(client_for(patient_b.user), diary["after"], diary["before"]).status_code == 404
    assert _change(client_for(clinician), diary["after"], diary["before"]).status_code == 200
    assert _change(client_for(other_clinician), diary["after"], diary["before"]).status_code == 404
    anonymous = _change(client_for(None), diary["after"], diary["before"])
    assert anonymous.status_code == 401


def test_bad_pairs_are_refused_with_a_code(diary, patient_a):
    client = client_for(patient_a.user)
    other_site = _change(client, diary["before"], diary["other_site"])
    assert other_site.status_code == 400
    assert other_site.json()["code"] == "different_body_sites"
    assert other_site.json()["errors"]["against"][0]["code"] == "different_body_sites"

    unanalysed = _change(client, diary["before"], diary["unanalysed"])
    assert unanalysed.status_code == 404 and unanalysed.json()["code"] == "not_analysed"

    url = reverse("api:photo-change", args=[diary["before"].pk])
    assert client.get(url).json()["errors"]["against"][0]["code"] == "required"
    assert client.get(url, {"against": "abc"}).json()["errors"]["against"][0]["code"] == (
        "incorrect_type"
    )
    blank = client.get(url + "?against=")
    assert blank.status_code == 400 and blank.json()["errors"]["against"][0]["code"] == "blank"


def test_the_schema_documents_the_change_routes(api_client):
    schema = api_client.get(
        reverse("api:schema"), {"format": "json"}, HTTP_ACCEPT="application/json"
    )
    text = schema.content.decode()
    for path in ("/api/v1/photos/{id}/change/", "/api/v1/photos/{id}/change/overlay/",
                 "/api/v1/photos/{id}/change/aligned/"):  # fmt: skip
        assert path in text
    assert "repigmented_share" in text and "new_lesion_share" in text


def test_the_change_compares_a_clinicians_correction_when_one_is_in_force(
    diary, patient_a, clinician
):
    """A clinician who finds no lesion left on the later photo corrects its mask to empty: the
    change then reads that the whole earlier lesion repigmented (docs/corrections.md)."""
    import numpy as np

    from tests.diary.test_corrections_api import mask_png, post_correction

    empty = np.zeros(SHAPE, bool)
    response = post_correction(client_for(clinician), diary["after"], mask_png(empty))
    assert response.status_code == 201, response.json()
    body = _change(client_for(patient_a.user), diary["after"], diary["before"]).json()
    assert body["later"]["mask_source"] == "clinician"
    assert body["earlier"]["mask_source"] == "model"
    assert body["repigmented_share"] > 0.9 and body["new_lesion_share"] == 0
