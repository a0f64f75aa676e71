"""Colour maths against published values and independent formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.color import deltaE_ciede2000, rgb2lab

from segmentation.severity.colour import (
    delta_e2000,
    ita_degrees,
    linear_to_srgb,
    srgb_to_lab,
    srgb_to_linear,
)

# Sharma, Wu & Dalal (2005), "The CIEDE2000 color-difference formula: implementation notes,
# supplementary test data, and mathematical observations", Table 1: pair, Lab 1, Lab 2, ΔE00.
SHARMA_PAIRS = [
    (1, (50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    (2, (50.0, 3.1571, -77.2803), (50.0, 0.0, -82.7485), 2.8615),
    (3, (50.0, 2.8361, -74.0200), (50.0, 0.0, -82.7485), 3.4412),
    (4, (50.0, -1.3802, -84.2814), (50.0, 0.0, -82.7485), 1.0000),
    (7, (50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    (9, (50.0, 2.4900, -0.0010), (50.0, -2.4900, 0.0009), 7.1792),
    (11, (50.0, 2.4900, -0.0010), (50.0, -2.4900, 0.0011), 7.2195),
    (13, (50.0, -0.0010, 2.4900), (50.0, 0.0009, -2.4900), 4.8045),
    (17, (50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    (18, (50.0, 2.5, 0.0), (61.0, -5.0, 29.0), 22.8977),
    (19, (50.0, 2.5, 0.0), (56.0, -27.0, -3.0), 31.9030),
    (20, (50.0, 2.5, 0.0), (58.0, 24.0, 15.0), 19.4535),
    (21, (50.0, 2.5, 0.0), (50.0, 3.1736, 0.5854), 1.0000),
    (25, (60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    (26, (63.0109, -31.0961, -5.8663), (62.8187, -29.7946, -4.0864), 1.2630),
    (27, (61.2901, 3.7196, -5.3901), (61.4292, 2.2480, -4.9620), 1.8731),
    (28, (35.0831, -44.1164, 3.7933), (35.0232, -40.0716, 1.5901), 1.8645),
    (29, (22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    (30, (36.4612, 47.8580, 18.3852), (36.2715, 50.5065, 21.2231), 1.4146),
    (31, (90.8027, -2.0831, 1.4410), (91.1528, -1.6435, 0.0447), 1.4441),
    (32, (90.9257, -0.5406, -0.9208), (88.6381, -0.8985, -0.7239), 1.5381),
    (33, (6.7747, -0.2908, -2.4247), (5.8714, -0.0985, -2.2286), 0.6377),
    (34, (2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]


@pytest.mark.parametrize(("pair", "lab1", "lab2", "expected"), SHARMA_PAIRS)
def test_delta_e2000_matches_sharma_test_data(pair, lab1, lab2, expected):
    assert delta_e2000(np.array(lab1), np.array(lab2)) == pytest.approx(expected, abs=5e-5)
    # The formula is symmetric.
    assert delta_e2000(np.array(lab2), np.array(lab1)) == pytest.approx(expected, abs=5e-5)


def test_srgb_transfer_function_known_values_and_round_trip():
    # IEC 61966-2-1: sRGB 0.5 is linear 0.21404; the linear segment holds below 0.04045.
    assert float(srgb_to_linear(np.float32(0.5))) == pytest.approx(0.214041, abs=1e-5)
    assert float(srgb_to_linear(np.float32(0.04))) == pytest.approx(0.04 / 12.92, rel=1e-6)
    values = np.linspace(0.0, 1.2, 241, dtype=np.float32)
    np.testing.assert_allclose(linear_to_srgb(srgb_to_linear(values)), values, atol=2e-6)


def test_srgb_to_lab_agrees_with_scikit_image_on_8_bit_colours():
    rgb = np.array([[[190, 130, 100], [240, 220, 210], [0, 0, 0], [255, 255, 255]]], np.uint8)
    ours = srgb_to_lab(rgb.astype(np.float32) / 255.0)
    np.testing.assert_allclose(ours, rgb2lab(rgb), atol=1e-3)
    assert ours[0, 3, 0] == pytest.approx(100.0, abs=1e-3)  # white is L* = 100


@pytest.mark.parametrize(
    ("lightness", "b_star", "expected"),
    [
        (50.0, 20.0, 0.0),  # L* = 50 is the intermediate/tan boundary
        (70.0, 20.0, 45.0),  # (L*-50) = b*: 45°
        (30.0, 20.0, -45.0),
        (50.0 + 20.0 * math.sqrt(3.0), 20.0, 60.0),  # tan 60° = sqrt(3)
    ],
)
def test_ita_known_angles(lightness, b_star, expected):
    assert ita_degrees(lightness, b_star) == pytest.approx(expected, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(
    lightness=st.floats(0.0, 100.0, allow_nan=False),
    b_star=st.floats(0.01, 80.0, allow_nan=False),
)
def test_ita_equals_textbook_formula_for_positive_b(lightness, b_star):
    expected = math.atan((lightness - 50.0) / b_star) * 180.0 / math.pi
    assert ita_degrees(lightness, b_star) == pytest.approx(expected, abs=1e-9)


def test_ita_is_finite_for_non_positive_b_and_undefined_only_at_the_origin():
    assert ita_degrees(80.0, 0.0) == pytest.approx(90.0)
    assert ita_degrees(20.0, 0.0) == pytest.approx(-90.0)
    assert ita_degrees(50.0, 0.0) is None


def test_delta_e2000_agrees_with_scikit_image_on_pixels():
    rng = np.random.default_rng(3)
    lab = rgb2lab(rng.integers(0, 256, (2, 20, 3), dtype=np.uint8))
    expected = deltaE_ciede2000(lab[0], lab[1])
    ours = [delta_e2000(lab[0, i], lab[1, i]) for i in range(20)]
    np.testing.assert_allclose(ours, expected, rtol=1e-12)


def test_diagonal_normalisation_table_is_the_per_pixel_correction_exactly():
    """apply_normalisation looks diagonal corrections (grey-world, white-patch) up in a 256 x 3
    table; it must give the very floats of the per-pixel matrix product and gamma curve."""
    from segmentation.severity.colour import linear_to_srgb
    from segmentation.severity.normalisation import _LINEAR_LUT, apply_normalisation

    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, size=(5000, 3), dtype=np.uint8)
    pixels[:256] = np.arange(256, dtype=np.uint8)[:, None]  # every level of every channel
    for gains in ([1.0, 1.0, 1.0001], [0.2, 3.5, 7.9], [8.0, 0.125, 1.0]):
        matrix = np.diag(gains)
        per_pixel = linear_to_srgb(np.maximum(_LINEAR_LUT[pixels] @ matrix.T.astype(np.float32), 0))
        table = apply_normalisation(pixels, matrix)
        assert table.dtype == np.float32 and np.array_equal(table, per_pixel)
    # A full matrix (colour card) keeps the product.
    card = np.array([[1.1, 0.05, 0.0], [0.02, 0.9, 0.03], [0.0, 0.04, 1.2]])
    expected = linear_to_srgb(np.maximum(_LINEAR_LUT[pixels] @ card.T.astype(np.float32), 0))
    assert np.array_equal(apply_normalisation(pixels, card), expected)
