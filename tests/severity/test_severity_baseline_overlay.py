"""The colour-threshold baseline segmenter, the overlays, and the package's import hygiene."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.segmentation import find_boundaries

import segmentation.severity as severity
from segmentation.segmenter import Prediction, Segmenter
from segmentation.severity import (
    ColourThresholdSegmenter,
    render_mask,
    render_overlay,
    skin_mask,
)

from .conftest import make_scene

ROOT = Path(__file__).resolve().parents[2]


def _iou(a, b):
    return (a & b).sum() / (a | b).sum()


def test_baseline_implements_the_segmenter_protocol_and_is_labelled():
    segmenter = ColourThresholdSegmenter()
    assert isinstance(segmenter, Segmenter)
    assert segmenter.version_label.startswith("baseline:")


@pytest.mark.parametrize("skin_rgb", [(190, 130, 100), (120, 75, 50)])
def test_baseline_finds_a_pale_patch_on_light_and_dark_skin(skin_rgb):
    scene = make_scene(
        skin_box=(0.0, 0.0, 1.0, 1.0), lesions=((0.4, 0.4, 0.2),), skin_rgb=skin_rgb, noise=4.0
    )
    prediction = ColourThresholdSegmenter().predict(Image.fromarray(scene.image))
    assert isinstance(prediction, Prediction)
    assert prediction.mask.shape == scene.lesion.shape
    assert prediction.probabilities.dtype == np.float32
    assert 0.0 <= prediction.probabilities.min() <= prediction.probabilities.max() <= 1.0
    np.testing.assert_array_equal(prediction.mask, prediction.probabilities >= prediction.threshold)
    assert _iou(prediction.mask, scene.lesion) > 0.9


def test_baseline_includes_lesions_too_pale_for_the_skin_rule():
    # (245, 240, 238) has Cr ~ 131 < 133: not "skin", but enclosed by skin, so still a lesion.
    scene = make_scene(
        skin_box=(0.0, 0.0, 1.0, 1.0), lesions=((0.5, 0.5, 0.2),), lesion_rgb=(245, 240, 238)
    )
    assert not skin_mask(scene.image)[scene.lesion].any()
    prediction = ColourThresholdSegmenter().predict(Image.fromarray(scene.image))
    assert _iou(prediction.mask, scene.lesion) > 0.9


def test_baseline_downscaled_path_keeps_the_contract_at_full_size():
    scene = make_scene((300, 400), skin_box=(0.0, 0.0, 1.0, 1.0), noise=3.0)
    prediction = ColourThresholdSegmenter(working_size=100).predict(Image.fromarray(scene.image))
    assert prediction.mask.shape == (300, 400)
    np.testing.assert_array_equal(prediction.mask, prediction.probabilities >= prediction.threshold)
    assert _iou(prediction.mask, scene.lesion) > 0.85


def test_baseline_applies_exif_orientation():
    scene = make_scene((60, 90), skin_box=(0.0, 0.0, 1.0, 1.0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    buffer = io.BytesIO()
    Image.fromarray(scene.image).save(buffer, format="JPEG", exif=exif.tobytes())
    prediction = ColourThresholdSegmenter().predict(Image.open(io.BytesIO(buffer.getvalue())))
    assert prediction.mask.shape == (90, 60)


@pytest.mark.parametrize("rgb", [(128, 128, 128), (60, 90, 170), (190, 130, 100)])
def test_baseline_returns_an_empty_mask_on_uniform_or_skinless_photos(rgb):
    image = Image.new("RGB", (64, 48), rgb)
    prediction = ColourThresholdSegmenter().predict(image)
    assert not prediction.mask.any()


def test_baseline_batch_matches_single_predictions():
    images = [Image.fromarray(make_scene(seed=s, noise=3.0).image) for s in range(2)]
    segmenter = ColourThresholdSegmenter()
    batch = segmenter.predict_batch(images)
    assert len(batch) == 2
    for image, prediction in zip(images, batch, strict=True):
        np.testing.assert_array_equal(prediction.mask, segmenter.predict(image).mask)


def test_baseline_rejects_bad_options():
    with pytest.raises(ValueError):
        ColourThresholdSegmenter(working_size=8)
    with pytest.raises(ValueError):
        ColourThresholdSegmenter().predict(np.zeros((4, 4, 3), np.uint8))


def test_render_mask_is_l_mode_0_255():
    mask = make_scene().lesion
    rendered = render_mask(mask)
    assert rendered.mode == "L" and rendered.size == (300, 200)
    pixels = np.asarray(rendered)
    assert set(np.unique(pixels).tolist()) == {0, 255}
    np.testing.assert_array_equal(pixels == 255, mask)


def test_render_overlay_fills_outlines_and_leaves_the_rest():
    scene = make_scene()
    photo = Image.fromarray(scene.image)
    fill, alpha, outline = (0, 160, 255), 0.35, (255, 230, 0)
    out = render_overlay(photo, scene.lesion, fill_rgb=fill, fill_alpha=alpha, outline_rgb=outline)
    assert out.mode == "RGB" and out.size == photo.size
    pixels = np.asarray(out).astype(int)
    np.testing.assert_array_equal(pixels[~scene.lesion], scene.image[~scene.lesion])
    edge = find_boundaries(scene.lesion, mode="inner")
    assert (pixels[edge] == outline).all()
    centre = pixels[100, 150]
    expected = np.rint((1 - alpha) * scene.image[100, 150] + alpha * np.array(fill))
    np.testing.assert_array_equal(centre, expected)
    # Round-trips through PNG unchanged.
    buffer = io.BytesIO()
    out.save(buffer, format="PNG")
    np.testing.assert_array_equal(np.asarray(Image.open(buffer)), np.asarray(out))


def test_render_overlay_rejects_a_mask_of_another_size():
    with pytest.raises(ValueError, match="shape"):
        render_overlay(Image.new("RGB", (30, 20)), np.zeros((30, 20), dtype=bool))


def test_public_api_is_exported():
    for name in severity.__all__:
        assert hasattr(severity, name), name
    for name in ("measure_severity", "render_overlay", "render_mask", "SeverityReport"):
        assert name in severity.__all__


def test_package_imports_neither_django_nor_torch():
    code = (
        "import sys, segmentation.severity; "
        "print(sorted(m for m in ('django', 'torch') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
