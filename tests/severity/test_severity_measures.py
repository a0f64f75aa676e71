"""measure_severity on synthetic photos whose colours and geometry are known."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage
from skimage.color import deltaE_ciede2000, rgb2lab

from segmentation.severity import measure_severity
from segmentation.severity.colour import linear_to_srgb, srgb_to_linear

from .conftest import BACKGROUND, LESION, SKIN, make_scene

REQUIRED_KEYS = {
    "lesion_skin_fraction",
    "delta_e2000",
    "delta_e2000_skin",
    "delta_l",
    "ita_lesion",
    "ita_surrounding",
    "ita_difference",
    "rgb_lesion_mean",
    "rgb_nonlesion_mean",
    "rgb_difference",
    "rgb_mean_difference",
    "paper_grade",
    "grade",
    "lesion_count",
    "largest_lesion_fraction",
    "lesion_area_cm2",
    "skin_pixel_count",
    "lesion_pixel_count",
    "normalisation",
    "reasons",
}


def _lab(rgb):
    return rgb2lab(np.array([[rgb]], dtype=np.uint8))[0, 0]


def _relight(image: np.ndarray, gains) -> np.ndarray:
    """The same scene under another light: per-channel gains on linear light, re-encoded."""
    linear = srgb_to_linear(image / 255.0) * np.asarray(gains, dtype=np.float32)
    return np.clip(np.rint(linear_to_srgb(linear) * 255.0), 0, 255).astype(np.uint8)


def test_report_has_the_contract_keys_and_is_strict_json(scene):
    report = measure_severity(scene.image, scene.lesion)
    data = report.as_dict()
    assert data.keys() >= REQUIRED_KEYS
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert data["reasons"] == []


def test_uniform_colours_give_the_scikit_image_delta_e_and_ita(scene):
    report = measure_severity(scene.image, scene.lesion, normalisation=None)
    lesion_lab, skin_lab = _lab(LESION), _lab(SKIN)
    expected_de = float(deltaE_ciede2000(lesion_lab, skin_lab))
    assert report.delta_e2000 == pytest.approx(expected_de, abs=1e-3)
    assert report.delta_e2000_skin == pytest.approx(expected_de, abs=1e-3)
    assert report.delta_l == pytest.approx(lesion_lab[0] - skin_lab[0], abs=1e-3)

    def ita(lab):
        return math.degrees(math.atan((lab[0] - 50.0) / lab[2]))

    assert report.ita_lesion == pytest.approx(ita(lesion_lab), abs=1e-3)
    assert report.ita_surrounding == pytest.approx(ita(skin_lab), abs=1e-3)
    assert report.ita_difference == pytest.approx(ita(lesion_lab) - ita(skin_lab), abs=1e-3)
    assert report.ita_difference > 0  # depigmented skin has a higher ITA°


def test_paper_rgb_measure_counts_every_non_lesion_pixel(scene):
    report = measure_severity(scene.image, scene.lesion)
    n_skin, n_lesion = scene.skin.sum(), scene.lesion.sum()
    n_background = scene.lesion.size - n_skin - n_lesion
    nonlesion = (np.multiply(SKIN, n_skin) + np.multiply(BACKGROUND, n_background)) / (
        n_skin + n_background
    )
    np.testing.assert_allclose(report.rgb_lesion_mean, LESION)
    np.testing.assert_allclose(report.rgb_nonlesion_mean, nonlesion)
    np.testing.assert_allclose(report.rgb_difference, np.subtract(LESION, nonlesion))
    assert report.rgb_mean_difference_vs_rest == pytest.approx(np.mean(LESION) - np.mean(nonlesion))
    # The skin-only variant ignores the blue background.
    np.testing.assert_allclose(report.rgb_nonlesion_skin_mean, SKIN)


@pytest.mark.parametrize(
    ("lesion_levels", "other_levels", "difference", "grade"),
    [
        # The paper's table (section 4): lesion mean, non-lesion mean, difference, grade.
        ((136,), (91, 91, 91, 91, 92), 44.8, "high"),
        ((127, *[128] * 9), (101, 101, 101, *[102] * 7), 26.2, "medium"),
        ((188,), (171,), 17.0, "low"),
    ],
)
def test_reproduces_the_papers_three_examples(lesion_levels, other_levels, difference, grade):
    # Grey pixels whose averages are exactly the paper's 136.0 / 91.2, 127.9 / 101.7, 188 / 171.
    shape = (60, 60)
    lesion = np.zeros(shape, dtype=bool)
    lesion[15:45, 15:45] = True
    image = np.empty((*shape, 3), dtype=np.uint8)
    image[lesion] = np.resize(lesion_levels, lesion.sum())[:, None]
    image[~lesion] = np.resize(other_levels, (~lesion).sum())[:, None]
    report = measure_severity(image, lesion)
    assert report.rgb_mean_difference_vs_rest == pytest.approx(difference, abs=1e-9)
    assert report.paper_grade == grade


def test_extent_fractions_match_the_construction(scene):
    report = measure_severity(scene.image, scene.lesion, pixels_per_cm=20.0)
    n_lesion, n_skin = int(scene.lesion.sum()), int(scene.skin.sum())
    assert report.lesion_pixel_count == n_lesion
    assert report.skin_pixel_count == n_lesion + n_skin  # visible skin includes the lesion
    assert report.lesion_skin_fraction == pytest.approx(n_lesion / (n_lesion + n_skin))
    assert report.lesion_count == 1
    assert report.largest_lesion_fraction == pytest.approx(report.lesion_skin_fraction)
    assert report.lesion_area_cm2 == pytest.approx(n_lesion / 400.0)
    # A disc of radius 0.15 x 200 px: area pi r^2 within rasterisation error.
    assert n_lesion == pytest.approx(math.pi * 30.0**2, rel=0.01)


def test_ring_is_skin_within_the_proportional_width(scene):
    report = measure_severity(scene.image, scene.lesion)
    width = round(0.03 * math.sqrt(200 * 300))
    assert report.ring_width_px == width
    # Independent geometry: an annulus of radii 30 and 30 + width around the disc.
    annulus = math.pi * ((30.0 + width) ** 2 - 30.0**2)
    assert report.ring_pixel_count == pytest.approx(annulus, rel=0.05)


def test_ring_excludes_background_next_to_the_lesion():
    # A lesion touching the skin's edge: its ring must stop at the background.
    scene = make_scene(skin_box=(0.1, 0.1, 0.9, 0.5), lesions=((0.5, 0.45, 0.15),))
    report = measure_severity(scene.image, scene.lesion, normalisation=None)
    distance = ndimage.distance_transform_edt(~scene.lesion)
    ring = (distance <= report.ring_width_px) & scene.skin
    assert report.ring_pixel_count == int(ring.sum())
    assert report.lab_ring_mean == pytest.approx(tuple(_lab(SKIN)), abs=1e-3)


def test_lesion_count_ignores_specks_and_largest_share_is_the_biggest_disc():
    lesions = ((0.3, 0.3, 0.1), (0.7, 0.7, 0.05), (0.3, 0.7, 0.05))
    scene = make_scene(lesions=lesions)
    mask = scene.lesion.copy()
    mask[150, 60] = True  # a 1-pixel speck on skin: below min_component_fraction (6 px here)
    report = measure_severity(scene.image, mask)
    assert report.lesion_count == 3
    big = make_scene(lesions=lesions[:1]).lesion.sum()
    assert report.largest_lesion_fraction == pytest.approx(big / report.skin_pixel_count)


def test_resizing_leaves_fractions_and_contrast_unchanged():
    small = make_scene((200, 300), lesions=((0.4, 0.4, 0.12), (0.6, 0.7, 0.08)))
    large = make_scene((400, 600), lesions=((0.4, 0.4, 0.12), (0.6, 0.7, 0.08)))
    a = measure_severity(small.image, small.lesion, pixels_per_cm=10.0)
    b = measure_severity(large.image, large.lesion, pixels_per_cm=20.0)
    assert b.lesion_skin_fraction == pytest.approx(a.lesion_skin_fraction, rel=0.01)
    assert b.largest_lesion_fraction == pytest.approx(a.largest_lesion_fraction, rel=0.01)
    assert b.lesion_count == a.lesion_count == 2
    assert b.lesion_area_cm2 == pytest.approx(a.lesion_area_cm2, rel=0.01)
    # Grey-world gains follow the (rasterised) area shares, hence not bit-identical; 0.1 is a
    # tenth of a just-noticeable difference.
    assert b.delta_e2000 == pytest.approx(a.delta_e2000, abs=0.1)
    assert abs(b.ring_width_px - 2 * a.ring_width_px) <= 1  # proportional, rounded to pixels


def test_resizing_a_real_photo_with_pil_keeps_the_lesion_share():
    scene = make_scene((240, 320), noise=4.0)
    photo = Image.fromarray(scene.image).resize((480, 640), Image.Resampling.BILINEAR)
    mask = Image.fromarray(scene.lesion).resize((480, 640), Image.Resampling.NEAREST)
    a = measure_severity(scene.image, scene.lesion)
    b = measure_severity(np.asarray(photo), np.asarray(mask))
    assert b.lesion_skin_fraction == pytest.approx(a.lesion_skin_fraction, abs=0.005)


@pytest.mark.parametrize("gains", [(0.55, 0.55, 0.55), (0.6, 0.55, 0.45), (1.0, 0.9, 0.7)])
def test_light_change_moves_raw_rgb_but_barely_moves_normalised_delta_e(gains):
    scene = make_scene(noise=3.0)
    relit = _relight(scene.image, gains)
    raw_a = measure_severity(scene.image, scene.lesion, normalisation=None)
    raw_b = measure_severity(relit, scene.lesion, normalisation=None)
    norm_a = measure_severity(scene.image, scene.lesion, normalisation="grey_world")
    norm_b = measure_severity(relit, scene.lesion, normalisation="grey_world")
    rgb_shift = abs(raw_b.rgb_mean_difference_vs_rest - raw_a.rgb_mean_difference_vs_rest)
    de_shift_raw = abs(raw_b.delta_e2000 - raw_a.delta_e2000)
    de_shift_norm = abs(norm_b.delta_e2000 - norm_a.delta_e2000)
    # The paper's number moves by at least 5 of its 0..255 units (measured: 5.4 to 22)...
    assert rgb_shift > 5.0
    # ...while grey-world normalised ΔE2000 moves by under 0.15 (measured: < 0.1 of ~29).
    assert de_shift_norm < 0.15
    assert de_shift_norm < de_shift_raw


def test_white_patch_normalisation_is_also_stable_under_a_colour_cast():
    scene = make_scene(noise=3.0)
    relit = _relight(scene.image, (0.6, 0.55, 0.45))
    a = measure_severity(scene.image, scene.lesion, normalisation="white_patch")
    b = measure_severity(relit, scene.lesion, normalisation="white_patch")
    assert abs(b.delta_e2000 - a.delta_e2000) < 0.3


def test_grade_uses_the_configured_measure_and_reports_it(scene):
    from segmentation.severity import GradeThresholds

    report = measure_severity(scene.image, scene.lesion, normalisation=None)
    assert report.grade_measure == "delta_e2000"
    assert report.grade == ("high" if report.delta_e2000 >= 14.0 else "medium")
    custom = GradeThresholds(measure="lesion_skin_fraction", high=0.5, medium=0.1)
    graded = measure_severity(scene.image, scene.lesion, thresholds=custom)
    assert graded.lesion_skin_fraction < 0.5
    assert graded.grade == ("medium" if graded.lesion_skin_fraction >= 0.1 else "low")
    assert graded.as_dict()["grade_thresholds"]["measure"] == "lesion_skin_fraction"


def test_segmenter_label_is_copied_into_the_report(scene):
    report = measure_severity(scene.image, scene.lesion, segmenter="baseline:colour-threshold-v1")
    assert report.as_dict()["segmenter"] == "baseline:colour-threshold-v1"


def test_large_regions_are_subsampled_evenly_without_moving_the_means(monkeypatch):
    import segmentation.severity.measures as measures

    scene = make_scene(noise=6.0)
    full = measure_severity(scene.image, scene.lesion)
    monkeypatch.setattr(measures, "_MAX_LAB_PIXELS", 2000)
    sampled = measure_severity(scene.image, scene.lesion)
    assert sampled.lab_skin_mean != full.lab_skin_mean  # the stride path did run
    np.testing.assert_allclose(sampled.lab_skin_mean, full.lab_skin_mean, atol=0.3)
    assert sampled.delta_e2000 == pytest.approx(full.delta_e2000, abs=0.3)
    # Extent and the paper's RGB numbers never sample.
    assert sampled.lesion_skin_fraction == full.lesion_skin_fraction
    assert sampled.rgb_mean_difference_vs_rest == full.rgb_mean_difference_vs_rest
