"""Each photo quality check on a synthetic photo built to fail it, and on one built to pass it."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from segmentation.severity.photo_quality import (
    CHEAP_CHECK_CODES,
    QualityThresholds,
    check_lesion_border,
    check_photo,
    quality_ok,
)
from tests.images import textured_skin

from .conftest import SKIN, disc


def _by_code(image) -> dict:
    return {c.code: c for c in check_photo(image)}


def test_a_sharp_well_exposed_close_up_passes_every_check():
    checks = check_photo(textured_skin())
    assert [c.code for c in checks] == list(CHEAP_CHECK_CODES)
    assert quality_ok(checks), [c for c in checks if not c.passed]
    for check in checks:
        assert check.message and isinstance(check.value, float)


def _blurred(image):
    return np.clip(ndimage.gaussian_filter(image.astype(float), (4, 4, 0)), 0, 255).astype(np.uint8)


def _jpeg(image, quality):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def _gain(image, gains):
    return np.clip(image.astype(float) * np.array(gains), 0, 255).astype(np.uint8)


def _skin_at_the_border(image):
    out = image.copy()
    h, w = image.shape[:2]
    out[h // 6 : -h // 6, w // 6 : -w // 6] = (120, 120, 125)  # a grey sheet in the middle
    return out


FAILING = {
    "blurred": _blurred,
    "compressed": lambda image: _jpeg(image, 3),
    "underexposed": lambda image: _gain(image, (0.2, 0.2, 0.2)),
    "overexposed": lambda image: _gain(image, (2.5, 2.5, 2.5)),
    "little_skin": _skin_at_the_border,
    "too_small": lambda image: np.asarray(Image.fromarray(image).resize((96, 72))),
    "colour_cast": lambda image: _gain(image, (0.7, 1.3, 0.8)),
}


@pytest.mark.parametrize("code", sorted(FAILING))
def test_each_check_fails_the_photo_built_to_fail_it(code):
    good = _by_code(textured_skin())[code]
    bad = _by_code(FAILING[code](textured_skin()))[code]
    assert good.passed, good
    assert not bad.passed, bad
    assert bad.threshold == good.threshold
    assert not quality_ok([bad])


def test_checks_move_the_right_way():
    image = textured_skin()
    assert _by_code(_blurred(image))["blurred"].value > _by_code(image)["blurred"].value
    # underexposed reads the photo's highlights: darker, lower
    darker = _by_code(_gain(image, (0.2, 0.2, 0.2)))["underexposed"].value
    assert darker < _by_code(image)["underexposed"].value


def _dark_skin_on_black(gain: float = 1.0) -> np.ndarray:
    """Deeply pigmented skin (a tenth of it a pale lesion) on a black background, well exposed:
    most of the photo is darker than luma 50, yet its lesion and a highlight are bright."""
    rng = np.random.default_rng(3)
    image = np.zeros((360, 480, 3), dtype=np.float32)  # the background
    image[60:300, 80:400] = (95, 62, 45)  # skin of type VI: luma about 70
    image[150:210, 200:280] = (225, 200, 185)  # a depigmented patch
    image[60:300, 80:400] += ndimage.gaussian_filter(rng.normal(0, 8, (240, 320)), 0.8)[..., None]
    image[100:110, 300:330] = 250  # a specular highlight (skin is never matte)
    linear = (np.clip(image, 0, 255) / 255.0) ** 2.2 * gain  # an exposure change, in linear light
    return (np.clip(linear, 0, 1) ** (1 / 2.2) * 255).astype(np.uint8)


def test_dark_skin_on_a_dark_background_is_not_underexposed_but_the_same_photo_darkened_is():
    photo = _dark_skin_on_black()
    luma = np.asarray(Image.fromarray(photo).convert("L"))
    assert np.mean(luma < 50) > 0.5  # a dark share that the earlier measure called too dark
    good = _by_code(photo)["underexposed"]
    dim = _by_code(_dark_skin_on_black(gain=0.2))["underexposed"]  # 2.3 stops under
    assert good.passed and good.value > good.threshold
    assert not dim.passed and dim.value < dim.threshold


def _in_a_corner_of(photo: np.ndarray, background: tuple[int, int, int]) -> np.ndarray:
    """``photo`` shrunk to half the frame's side, in its top-left corner of a flat surface."""
    height, width = photo.shape[:2]
    canvas = np.empty_like(photo)
    canvas[:] = background
    small = Image.fromarray(photo).resize((width // 2, height // 2))
    canvas[: height // 2, : width // 2] = np.asarray(small)
    return canvas


def test_a_flat_skin_coloured_surface_is_not_skin_in_the_middle_of_the_photo():
    wood = (120, 90, 60)  # a table the skin colour rule takes for skin
    far = _by_code(_in_a_corner_of(textured_skin(), wood))["little_skin"]
    flat = np.empty((360, 480, 3), dtype=np.uint8)
    flat[:] = wood
    assert not far.passed and far.value < far.threshold
    assert _by_code(flat)["little_skin"].value == 0.0
    assert _by_code(textured_skin())["little_skin"].passed


def test_a_large_photo_is_measured_on_a_working_copy_but_its_resolution_counts():
    image = np.asarray(Image.fromarray(textured_skin()).resize((1920, 1440)))
    checks = _by_code(image)
    assert checks["too_small"].value > 1000  # sqrt(skin pixels) at the photo's own size
    assert checks["too_small"].passed


def test_a_flat_image_has_no_focus_information_and_counts_as_blurred():
    flat = np.empty((300, 400, 3), dtype=np.uint8)
    flat[:] = SKIN
    blurred = _by_code(flat)["blurred"]
    assert blurred.value == 1.0 and not blurred.passed


def test_pil_images_are_accepted_and_bad_arrays_refused():
    assert quality_ok(check_photo(Image.fromarray(textured_skin())))
    with pytest.raises(ValueError):
        check_photo(np.zeros((10, 10), dtype=np.uint8))


def test_a_lesion_inside_the_frame_passes_and_one_cut_by_the_frame_fails():
    shape = (200, 300)
    inside = check_lesion_border(disc(shape, (100, 150), 50))
    cut = check_lesion_border(disc(shape, (100, 10), 50))  # its left part is out of the photo
    assert inside.passed and inside.value == 0.0
    assert not cut.passed and cut.value > cut.threshold
    assert cut.code == "lesion_cut" and "edge" in cut.message


def test_a_lesion_grazing_the_frame_passes_and_no_lesion_passes():
    shape = (200, 300)
    grazing = disc(shape, (100, 150), 50) | disc(shape, (100, 0), 1.5)  # a speck at the edge
    assert check_lesion_border(grazing).passed
    assert check_lesion_border(np.zeros(shape, dtype=bool)).value == 0.0
    with pytest.raises(ValueError):
        check_lesion_border(np.zeros((2, 3, 3), dtype=bool))


def test_thresholds_are_the_ones_given():
    strict = QualityThresholds(min_skin_side=10_000)
    too_small = {c.code: c for c in check_photo(textured_skin(), thresholds=strict)}["too_small"]
    assert not too_small.passed and too_small.threshold == 10_000
    with pytest.raises(ValueError):
        QualityThresholds(patch=4)


def test_quality_ok_reads_stored_dicts():
    checks = [c.as_dict() for c in check_photo(textured_skin())]
    assert set(checks[0]) == {"code", "passed", "value", "threshold", "message"}
    assert quality_ok(checks)
    assert not quality_ok([*checks, {**checks[0], "passed": False}])


def test_the_batched_blur_effect_is_scikit_images():
    from skimage.measure import blur_effect

    from segmentation.severity.sharpness import blur_effects

    rng = np.random.default_rng(1)
    patches = ndimage.gaussian_filter(rng.normal(128, 20, (4, 32, 32)), (0, 1.5, 0.7))
    patches = patches.astype(np.float32)
    expected = [blur_effect(patch) for patch in patches]
    assert blur_effects(patches) == pytest.approx(expected, abs=1e-6)


def test_the_colour_baselines_masks_are_held_to_their_own_looser_threshold():
    shape = (200, 300)
    cut = disc(shape, (100, 40), 50)  # a fifth or so of its outline is the photo's edge
    model, baseline = check_lesion_border(cut), check_lesion_border(cut, baseline=True)
    assert model.threshold < model.value < baseline.threshold
    assert not model.passed and baseline.passed
