"""Skin-pixel detection by a documented colour rule, so that background, hair and clothes are not
counted as "non-lesion skin".

The rule is Chai & Ngan's chrominance box (IEEE TCSVT 1999: 77 <= Cb <= 127, 133 <= Cr <= 173 on
full-range 8-bit YCbCr), plus a luma floor that removes hair, shadows and dark backgrounds, whose
chroma is too noisy to classify. Depigmented lesions are pale and low in chroma and often fail this
rule; the measures therefore define *visible skin* as ``skin_rule | lesion_mask`` (union) (see
``measures.py``), never the rule alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from skimage.color import rgb2ycbcr
from skimage.morphology import remove_small_objects

from ._checks import check_image

__all__ = ["SkinRule", "skin_mask"]

# scikit-image returns studio-swing YCbCr (Y 16..235, Cb/Cr 16..240); the published bounds are on
# the full-range (JPEG) scale, so the chroma is rescaled by 255/224 and luma by 255/219.
_CHROMA_SCALE = 255.0 / 224.0
_LUMA_SCALE = 255.0 / 219.0


@dataclass(frozen=True)
class SkinRule:
    """Inclusive bounds on full-range 8-bit YCbCr.

    ``min_region_fraction`` drops isolated skin-coloured specks (JPEG noise, wood grain) smaller
    than that share of the image; it is a fraction so that resizing does not change the result.
    """

    cb_min: float = 77.0
    cb_max: float = 127.0
    cr_min: float = 133.0
    cr_max: float = 173.0
    y_min: float = 40.0
    min_region_fraction: float = 1e-4

    def __post_init__(self) -> None:
        if not (self.cb_min < self.cb_max and self.cr_min < self.cr_max):
            raise ValueError("SkinRule: each lower bound must be below its upper bound")
        if not 0.0 <= self.min_region_fraction < 1.0:
            raise ValueError("SkinRule.min_region_fraction must be in [0, 1)")


def skin_mask(image: np.ndarray, *, rule: SkinRule | None = None) -> np.ndarray:
    """Boolean (H, W) mask of pixels whose colour satisfies ``rule`` (default :class:`SkinRule`).

    ``image`` is 8-bit RGB (H, W, 3). The rule is applied to the photo as taken (not to a
    colour-normalised copy): a grey-world correction pulls a skin-filled close-up towards grey and
    would make the rule reject all skin.
    """
    check_image(image)
    rule = rule or SkinRule()
    # float32 input keeps scikit-image in float32 (ten times faster than its uint8 -> float64 path
    # on a 12-megapixel photo; identical to 1e-4 of a level).
    ycbcr = rgb2ycbcr(image.astype(np.float32) / np.float32(255.0))
    y = (ycbcr[..., 0] - 16.0) * _LUMA_SCALE
    cb = (ycbcr[..., 1] - 128.0) * _CHROMA_SCALE + 128.0
    cr = (ycbcr[..., 2] - 128.0) * _CHROMA_SCALE + 128.0
    mask = (
        (y >= rule.y_min)
        & (cb >= rule.cb_min)
        & (cb <= rule.cb_max)
        & (cr >= rule.cr_min)
        & (cr <= rule.cr_max)
    )
    min_size = int(rule.min_region_fraction * mask.size)
    if min_size > 1:
        mask = remove_small_objects(mask, max_size=min_size - 1)
    return mask
