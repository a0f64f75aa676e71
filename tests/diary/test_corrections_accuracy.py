"""The model's accuracy in the clinic: the selector's, the admin page's and the command's figures
against a computation here, with numpy, from the stored model masks and the masks posted."""

from __future__ import annotations

import json
import re
from io import StringIO

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from PIL import Image

from diary.models import Analysis, Correction, CorrectionScore
from diary.selectors.accuracy import model_accuracy, scored_model_versions
from diary.services.analysis import photos_analyse
from diary.services.corrections import correction_score_new_analysis
from segmentation.models import SegmentationModel
from segmentation.severity.baseline import BASELINE_VERSION_LABEL
from tests.conftest import client_for
from tests.diary.test_corrections_api import box_mask, mask_png, post_correction
from tests.factories import BodySiteFactory, PhotoFactory

pytestmark = pytest.mark.django_db

BASELINE = BASELINE_VERSION_LABEL


def _stored_mask(field_file) -> np.ndarray:
    with field_file.open("rb") as handle, Image.open(handle) as image:
        return np.asarray(image.convert("L")) >= 128


def _analysed(patient, region: str):
    photo = PhotoFactory(body_site=BodySiteFactory(patient=patient, region=region))
    photos_analyse(photo_ids=[photo.pk])
    return photo


def _expected(pairs: dict[int, tuple[np.ndarray, np.ndarray]]) -> dict:
    """Figures of {photo id: (model mask, corrected mask)}, computed without the project's code."""
    rows = {}
    for photo_id, (model, truth) in pairs.items():
        tp = int(np.sum(model & truth))
        fp = int(np.sum(model & ~truth))
        fn = int(np.sum(~model & truth))
        rows[photo_id] = {
            "counts": (tp, fp, fn),
            "f1": 2 * tp / (2 * tp + fp + fn),
            "iou": tp / (tp + fp + fn),
            "area": float(model.mean() - truth.mean()),
        }
    tp, fp, fn = (sum(r["counts"][i] for r in rows.values()) for i in range(3))
    f1s = [r["f1"] for r in rows.values()]
    ious = [r["iou"] for r in rows.values()]
    areas = [r["area"] for r in rows.values()]
    return {
        "rows": rows,
        "photos": len(rows),
        "pooled_f1": 2 * tp / (2 * tp + fp + fn),
        "pooled_iou": tp / (tp + fp + fn),
        "mean_f1": float(np.mean(f1s)),
        "median_f1": float(np.median(f1s)),
        "mean_iou": float(np.mean(ious)),
        "median_iou": float(np.median(ious)),
        "mean_area_difference": float(np.mean(areas)),
        "mean_absolute_area_difference": float(np.mean(np.abs(areas))),
    }


FIGURES = [
    "pooled_f1",
    "pooled_iou",
    "mean_f1",
    "median_f1",
    "mean_iou",
    "median_iou",
    "mean_area_difference",
    "mean_absolute_area_difference",
]


@pytest.fixture
def clinic(patient_a, patient_b, clinician, other_clinician):
    """Corrected photos of two patients: lesions of different sizes (so pooled and per-photo
    figures differ), two regions, one photo corrected twice, one analysed but never corrected."""
    large = _analysed(patient_a, "hands")
    small = _analysed(patient_a, "face")
    twice = _analysed(patient_b, "hands")
    _analysed(patient_a, "face")  # never corrected: counts nowhere
    posted = {
        large.pk: [box_mask(12, 16, 36, 48)],
        small.pk: [box_mask(2, 2, 6, 8)],
        # The first correction is history; the second, in force, is what counts.
        twice.pk: [box_mask(0, 0, 48, 64), box_mask(10, 30, 30, 50)],
    }
    for photo in (large, small, twice):
        client = client_for(clinician if photo.patient == patient_a else other_clinician)
        for mask in posted[photo.pk]:
            assert post_correction(client, photo, mask_png(mask)).status_code == 201
    pairs = {
        pk: (_stored_mask(Analysis.objects.get(photo_id=pk).mask), masks[-1])
        for pk, masks in posted.items()
    }
    return {"large": large, "small": small, "twice": twice, "pairs": pairs}


def _assert_figures(figures: dict, expected: dict, *, places: int | None = None) -> None:
    assert figures["photos"] == expected["photos"]
    for name in FIGURES:
        value = expected[name]
        wanted = value if places is None else round(value, places)
        assert figures[name] == pytest.approx(wanted, abs=1e-9 if places is None else 0), name


def test_correction_figures_equal_a_numpy_computation_from_the_stored_masks(clinic):
    expected = _expected(clinic["pairs"])
    # The data must tell the two averages apart, or the test could not see them swapped.
    assert abs(expected["pooled_f1"] - expected["mean_f1"]) > 0.01
    accuracy = model_accuracy(model_version=BASELINE).as_dict()
    _assert_figures(accuracy["overall"], expected)
    assert Correction.objects.filter(photo=clinic["twice"]).count() == 2  # ...counted once

    by_region = {row["region"]: row for row in accuracy["by_region"]}
    assert list(by_region) == ["face", "hands"]  # the regions' own order, only those with photos
    pairs = clinic["pairs"]
    for region, photos in (("hands", ["large", "twice"]), ("face", ["small"])):
        wanted = _expected({clinic[p].pk: pairs[clinic[p].pk] for p in photos})
        _assert_figures(by_region[region], wanted)

    rows = expected["rows"]
    worst = accuracy["worst"]
    assert [row["photo_id"] for row in worst] == sorted(rows, key=lambda pk: rows[pk]["f1"])
    for row in worst:
        assert row["f1"] == pytest.approx(rows[row["photo_id"]]["f1"])
        assert row["iou"] == pytest.approx(rows[row["photo_id"]]["iou"])
        assert row["area_difference"] == pytest.approx(rows[row["photo_id"]]["area"])
    assert scored_model_versions() == [BASELINE]


def test_correction_figures_of_a_model_that_analyses_a_corrected_photo_later(clinic):
    """A model analysing a photo after its correction is scored against the correction in force
    (the analysis service's path), in its own figures: versions are never mixed."""
    photo = clinic["small"]
    empty = np.zeros((48, 64), bool)
    later = "model:later:00000000"
    analysis = Analysis.objects.create(
        photo=photo,
        model_version=later,
        mask=ContentFile(mask_png(empty), name="m.png"),
        overlay=ContentFile(mask_png(empty), name="o.png"),
    )
    correction_score_new_analysis(analysis=analysis, mask=empty)
    accuracy = model_accuracy(model_version=later)
    corrected = clinic["pairs"][photo.pk][1]
    _assert_figures(accuracy.as_dict()["overall"], _expected({photo.pk: (empty, corrected)}))
    assert accuracy.worst[0].photo_id == photo.pk and accuracy.worst[0].f1 == 0.0
    baseline = model_accuracy(model_version=BASELINE).as_dict()["overall"]
    _assert_figures(baseline, _expected(clinic["pairs"]))
    assert scored_model_versions() == sorted([BASELINE, later])


def test_correction_figures_of_a_clinician_are_their_patients_photos(
    clinic, clinician, other_clinician, staff
):
    pairs = clinic["pairs"]
    theirs = {pk: pairs[pk] for pk in (clinic["large"].pk, clinic["small"].pk)}
    _assert_figures(
        model_accuracy(model_version=BASELINE, user=clinician).as_dict()["overall"],
        _expected(theirs),
    )
    others = model_accuracy(model_version=BASELINE, user=other_clinician)
    assert [s.photo_id for s in others.worst] == [clinic["twice"].pk]
    assert model_accuracy(model_version=BASELINE, user=staff).overall.photos == 3
    assert model_accuracy(model_version="model:unknown:00000000").overall.photos == 0


def _page_figures(html: str, table: str, row: str = "") -> dict:
    """The data-figure cells of one table (and of one row of it, by its data attribute)."""
    section = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    if row:
        section = section.split(row, 1)[1].split("</tr>", 1)[0]
    cells = re.findall(r'<td data-figure="(\w+)">([^<]*)</td>', section)
    return dict(cells)


def _shown(figures: dict) -> dict:
    """``_expected`` figures as the page prints them (3 decimals; areas in signed percent)."""
    shown = {"photos": str(figures["photos"])}
    for name in FIGURES[:6]:
        shown[name] = f"{figures[name]:.3f}"
    shown["mean_area_difference"] = f"{figures['mean_area_difference'] * 100:+.2f} %"
    shown["mean_absolute_area_difference"] = (
        f"{figures['mean_absolute_area_difference'] * 100:.2f} %"
    )
    return shown


def _admin(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_correction_accuracy_page_shows_the_figures_by_region_and_the_worst_photos(clinic, staff):
    url = reverse("admin:diary_model_accuracy", args=[BASELINE])
    response = _admin(staff).get(url)
    assert response.status_code == 200
    html = response.content.decode()
    pairs = clinic["pairs"]
    expected = _expected(pairs)
    assert _page_figures(html, "accuracy-overall") == _shown(expected)
    hands = _expected({clinic[p].pk: pairs[clinic[p].pk] for p in ("large", "twice")})
    assert _page_figures(html, "accuracy-regions", 'data-region="hands"') == _shown(hands)
    rows = expected["rows"]
    order = [int(pk) for pk in re.findall(r'<tr data-photo="(\d+)">', html)]
    assert order == sorted(rows, key=lambda pk: rows[pk]["f1"])
    for pk in order:  # each worst photo links to its admin page
        assert reverse("admin:diary_photo_change", args=[pk]) in html
    # The index lists the version with the same figures and links its page.
    index = _admin(staff).get(reverse("admin:diary_accuracy_index")).content.decode()
    assert _page_figures(index, "accuracy-versions", f'data-version="{BASELINE}"') == _shown(
        expected
    )
    assert url in index


def test_correction_accuracy_page_of_a_clinician_has_only_their_patients_photos(
    clinic, clinician, other_clinician, patient_a
):
    url = reverse("admin:diary_model_accuracy", args=[BASELINE])
    html = _admin(other_clinician).get(url).content.decode()
    only = _expected({clinic["twice"].pk: clinic["pairs"][clinic["twice"].pk]})
    assert _page_figures(html, "accuracy-overall") == _shown(only)
    assert re.findall(r'<tr data-photo="(\d+)">', html) == [str(clinic["twice"].pk)]
    assert str(patient_a) not in html
    html = _admin(clinician).get(url).content.decode()
    assert _page_figures(html, "accuracy-overall")["photos"] == "2"
    # A patient is no admin user: sent to the login page like everywhere in the admin.
    response = _admin(patient_a.user).get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_correction_accuracy_of_a_registered_model_is_linked_from_the_registry(
    patient_a, clinician, staff
):
    model = SegmentationModel.objects.create(
        name="tiny",
        architecture="unet",
        backbone="efficientnet_lite0",
        checkpoint="models/tiny.pth",
        checkpoint_sha256="ab" * 32,
    )
    photo = _analysed(patient_a, "legs")
    drawn = box_mask(0, 0, 24, 64)  # the model drew the top half of the photo
    Analysis.objects.create(
        photo=photo,
        model_version=model.version_label,
        mask=ContentFile(mask_png(drawn), name="m.png"),
        overlay=ContentFile(mask_png(drawn), name="o.png"),
    )
    corrected = box_mask(12, 0, 36, 64)
    assert post_correction(client_for(clinician), photo, mask_png(corrected)).status_code == 201
    assert CorrectionScore.objects.filter(model_version=model.version_label).count() == 1

    client = _admin(staff)
    change = client.get(reverse("admin:segmentation_segmentationmodel_change", args=[model.pk]))
    page_url = reverse("admin:diary_model_accuracy", args=[model.version_label])
    assert page_url in change.content.decode()
    redirect = client.get(reverse("admin:segmentation_segmentationmodel_accuracy", args=[model.pk]))
    assert redirect.status_code == 302 and redirect["Location"] == page_url
    html = client.get(page_url).content.decode()
    assert "Accuracy in the clinic of tiny" in html
    assert _page_figures(html, "accuracy-overall") == _shown(
        _expected({photo.pk: (drawn, corrected)})
    )
    assert scored_model_versions() == sorted([BASELINE, model.version_label])
    # The command names it by its registry name, and defaults to it once it is active.
    by_name = _command_json("--model", "tiny")
    assert by_name["model_version"] == model.version_label and by_name["overall"]["photos"] == 1
    SegmentationModel.objects.filter(pk=model.pk).update(is_active=True)
    assert _command_json() == by_name


def _command_json(*args: str) -> dict:
    out = StringIO()
    call_command("evaluate_model", "--corrections", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def test_correction_accuracy_pages_without_corrections_say_so(staff, clinician):
    index = _admin(clinician).get(reverse("admin:diary_accuracy_index")).content.decode()
    assert 'id="accuracy-none"' in index and "accuracy-versions" not in index
    html = _admin(staff).get(reverse("admin:diary_model_accuracy", args=[BASELINE])).content
    assert _page_figures(html.decode(), "accuracy-overall")["pooled_f1"] == "-"
    assert b'id="accuracy-none"' in html and b"accuracy-worst" not in html
