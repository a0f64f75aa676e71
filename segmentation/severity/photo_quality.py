"""Is this photo good enough for the series? Checks a patient can act on while holding the phone.

Each check returns a :class:`QualityCheck`: a ``code`` the app translates, whether it ``passed``,
the measured ``value``, the ``threshold`` it was held to and an English ``message`` saying what to
fix. :func:`check_photo` runs the cheap checks on the pixels alone (at upload, synchronously);
:func:`check_lesion_border` needs the lesion mask and runs with the analysis.

Pure numpy / scikit-image: no Django. The thresholds were chosen on half of the vitiligo photo
groups under controlled degradations and reported on the other half (bench/quality_validation.py,
docs/quality.md); keep :class:`QualityThresholds`' defaults and that table in step.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.color import rgb2lab

from ._checks import check_image, check_mask
from .sharpness import blockiness, blur_effects
from .skin import skin_mask

__all__ = [
    "CHEAP_CHECK_CODES",
    "LESION_CUT",
    "QualityCheck",
    "QualityThresholds",
    "check_lesion_border",
    "check_photo",
    "quality_ok",
]

BLURRED, UNDEREXPOSED, OVEREXPOSED = "blurred", "underexposed", "overexposed"
LITTLE_SKIN, TOO_SMALL, COLOUR_CAST = "little_skin", "too_small", "colour_cast"
COMPRESSED, LESION_CUT = "compressed", "lesion_cut"
CHEAP_CHECK_CODES = (
    BLURRED,
    COMPRESSED,
    UNDEREXPOSED,
    OVEREXPOSED,
    LITTLE_SKIN,
    TOO_SMALL,
    COLOUR_CAST,
)

_MESSAGES = {
    BLURRED: "The skin is blurred: hold the phone still and tap the skin to focus, then retake.",
    COMPRESSED: "The photo is heavily compressed (blocky): send the photo as the camera took it, "
    "not a copy from a messaging app.",
    UNDEREXPOSED: "The photo is too dark: move to daylight or switch a light on, then retake.",
    OVEREXPOSED: "The skin is too bright (washed out): avoid direct sun and the flash, then "
    "retake.",
    LITTLE_SKIN: "Too little skin in the middle of the photo: centre the body site and fill the "
    "frame with it.",
    TOO_SMALL: "The skin is too small in the photo: move closer, or use a higher resolution.",
    COLOUR_CAST: "The colours are off (a strong colour cast): use daylight or a white lamp, not "
    "coloured light, then retake.",
    LESION_CUT: "The patch is cut by the edge of the photo: step back so that the whole patch "
    "and some skin around it are in the frame.",
}


@dataclass(frozen=True)
class QualityCheck:
    code: str
    passed: bool
    value: float
    threshold: float
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class QualityThresholds:
    """Where each check draws the line, and the geometry it measures on.

    ``working_side``: blur, exposure, skin share and cast are measured on a copy whose long side
    is at most this many pixels (the scale at which the lesion outline is read: the segmenters
    work at 192-1024 px), so a 12-megapixel photo costs no more than a small one.
    """

    working_side: int = 512
    patch: int = 32  # blur patches, in working pixels
    max_patches: int = 48  # evenly spread over the skin: the percentile needs no more
    min_patch_skin: float = 0.75  # share of skin pixels for a patch to count as skin
    min_patch_std: float = 1.5  # flatter patches (grey levels) carry no focus information
    blur_percentile: float = 25.0  # the photo is as sharp as its sharper skin patches
    blur_max: float = 0.491  # Crété-Roffet blur effect, 0 sharp .. 1 flat
    blockiness_max: float = 3.21  # luma steps on the 8-pixel JPEG grid / steps elsewhere
    blockiness_side: int = 1024  # measured on a central crop at the photo's own resolution
    # Exposure is read on the photo's highlights, not on its dark share: dark skin on a dark
    # background is a well-exposed photo with a large dark share (docs/quality.md).
    highlight_percentile: float = 99.0  # the luma below which all but the brightest 1 % lie
    highlight_min: float = 146.5  # an exposure whose brightest pixels stay below this is too dark
    bright_level: float = 250.0  # a channel at or above this is clipped
    bright_share_max: float = 0.245
    central_fraction: float = 0.5  # the central box's side, as a share of each side
    central_skin_min: float = 0.302  # share of the central box that is textured skin
    # Skin shows texture at the working scale; a flat skin-coloured surface (a table, a wall)
    # does not: skin pixels whose 5x5 luma spread is under this many levels are not skin here.
    min_skin_texture: float = 1.0
    min_skin_side: float = 144.0  # sqrt(skin pixels) at the photo's own size
    cast_max: float = 16.4  # CIELAB units off the skin axis
    skin_hue: float = 50.0  # CIELAB hue angle of the skin axis, degrees (docs/quality.md)
    border_share_max: float = 0.187  # share of the lesion's outline that is the photo's edge
    # The colour-threshold baseline's masks often reach the edge on uncut photos (skin-coloured
    # surroundings): with them only a gross cut can be told apart (docs/quality.md).
    border_share_max_baseline: float = 0.335

    def __post_init__(self) -> None:
        if self.working_side < 64 or self.patch < 8 or self.patch > self.working_side // 2:
            raise ValueError("QualityThresholds: working_side >= 64 and 8 <= patch <= side/2")
        if not 0.0 < self.central_fraction <= 1.0:
            raise ValueError("QualityThresholds.central_fraction must be in (0, 1]")


def _check(code: str, passed: bool, value: float, threshold: float) -> QualityCheck:
    return QualityCheck(
        code, bool(passed), round(float(value), 4), float(threshold), _MESSAGES[code]
    )


def quality_ok(checks: list[QualityCheck] | list[dict]) -> bool:
    """True when every check passed (no checks: nothing refused the photo)."""
    return all((c["passed"] if isinstance(c, dict) else c.passed) for c in checks)


def check_photo(
    image: np.ndarray | Image.Image, *, thresholds: QualityThresholds | None = None
) -> list[QualityCheck]:
    """The cheap checks, in :data:`CHEAP_CHECK_CODES` order, on an 8-bit RGB photo."""
    t = thresholds or QualityThresholds()
    full = image if isinstance(image, Image.Image) else Image.fromarray(_rgb(image))
    full = full.convert("RGB")
    full_pixels = full.width * full.height
    scale = min(1.0, t.working_side / max(full.size))
    small = full
    if scale < 1.0:
        # reduce() averages whole blocks first (fast on large photos), then an anti-aliased resize.
        size = (max(1, round(full.width * scale)), max(1, round(full.height * scale)))
        factor = max(1, int(1 / scale) // 2)
        small = full.reduce(factor) if factor > 1 else full
        small = small.resize(size, Image.Resampling.BOX)
    rgb = np.asarray(small)
    skin = skin_mask(rgb)
    luma = np.asarray(small.convert("L"))  # ITU-R 601 luma, as the skin rule's
    central = _central(rgb.shape[:2], t.central_fraction)
    # Clipping and cast are read on the skin where there is some, else on the central box: a
    # washed-out or tinted photo has lost the skin colours the skin rule looks for.
    subject = skin | central if skin.any() else central

    # An under-exposed photo has no highlights: nothing in it reaches a bright luma. Its dark
    # share cannot tell a dim photo from dark skin, hair or a dark background, well exposed.
    highlights = float(np.percentile(luma, t.highlight_percentile))
    bright = float(np.mean(rgb.max(axis=2)[subject] >= t.bright_level))
    central_skin = float((skin & _textured(luma, t.min_skin_texture))[central].mean())
    skin_side = float(np.sqrt(skin.mean() * full_pixels))
    blur = _blur(rgb, skin, t)
    blocks = blockiness(full, t.blockiness_side)
    cast = _cast(rgb[subject], t)
    return [
        _check(BLURRED, blur <= t.blur_max, blur, t.blur_max),
        _check(COMPRESSED, blocks <= t.blockiness_max, blocks, t.blockiness_max),
        _check(UNDEREXPOSED, highlights >= t.highlight_min, highlights, t.highlight_min),
        _check(OVEREXPOSED, bright <= t.bright_share_max, bright, t.bright_share_max),
        _check(LITTLE_SKIN, central_skin >= t.central_skin_min, central_skin, t.central_skin_min),
        _check(TOO_SMALL, skin_side >= t.min_skin_side, skin_side, t.min_skin_side),
        _check(COLOUR_CAST, cast <= t.cast_max, cast, t.cast_max),
    ]


def check_lesion_border(
    mask: np.ndarray, *, thresholds: QualityThresholds | None = None, baseline: bool = False
) -> QualityCheck:
    """Is the lesion cut by the frame? The share of its outline that lies on the photo's edge.

    A lesion cut by the frame has an unknown extent: part of its outline is the photo's edge.
    A photo without a lesion passes (value 0). ``baseline``: the mask is the colour-threshold
    baseline's, held to its own, looser threshold.
    """
    t = thresholds or QualityThresholds()
    limit = t.border_share_max_baseline if baseline else t.border_share_max
    if not isinstance(mask, np.ndarray) or mask.ndim != 2 or 0 in mask.shape:
        raise ValueError("mask must be a non-empty (H, W) array")
    mask = check_mask(mask, mask.shape)
    edge = np.zeros_like(mask)
    edge[0, :] = edge[-1, :] = edge[:, 0] = edge[:, -1] = True
    # The outline: lesion pixels with a non-lesion 4-neighbour, or on the photo's edge.
    padded = np.pad(mask, 1, constant_values=False)
    interior = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    outline = mask & (~interior | edge)
    n_outline = int(outline.sum())
    share = float((outline & edge).sum() / n_outline) if n_outline else 0.0
    return _check(LESION_CUT, share <= limit, share, limit)


def _rgb(image: np.ndarray) -> np.ndarray:
    check_image(image)
    return image


def _central(shape: tuple[int, int], fraction: float) -> np.ndarray:
    height, width = shape
    box = np.zeros(shape, dtype=bool)
    dy, dx = round(height * (1 - fraction) / 2), round(width * (1 - fraction) / 2)
    box[dy : height - dy or height, dx : width - dx or width] = True
    return box


def _blur(rgb: np.ndarray, skin: np.ndarray, t: QualityThresholds) -> float:
    """Crété-Roffet blur effect per skin patch and per channel (0 sharp .. 1 blurred).

    Each patch counts its sharpest channel (chromatic aberration, noise and skin texture differ
    per channel); the photo is as sharp as its ``blur_percentile`` patch, so a shallow depth of
    field that leaves some skin soft is not called blurred. Close-up skin is smooth, which is why
    a global Laplacian variance calls sharp close-ups blurred: the blur effect compares each patch
    with a re-blurred copy of itself, so it does not depend on how much texture there is.
    Without a textured skin patch (a flat image), the value is 1.
    """
    p = t.patch
    height, width = (rgb.shape[0] // p) * p, (rgb.shape[1] // p) * p
    if height == 0 or width == 0:
        return 1.0
    grid = rgb[:height, :width].reshape(height // p, p, width // p, p, 3).swapaxes(1, 2)
    skin_share = skin[:height, :width].reshape(height // p, p, width // p, p).mean(axis=(1, 3))
    # (patch, channel, row, col), skin patches only
    patches = grid[skin_share >= t.min_patch_skin]
    if not len(patches):
        return 1.0
    chosen = np.unique(np.linspace(0, len(patches) - 1, t.max_patches).round().astype(int))
    patches = patches[chosen].transpose(0, 3, 1, 2).astype(np.float32)
    textured = patches.std(axis=(2, 3)) >= t.min_patch_std
    effects = np.full(textured.shape, np.inf, dtype=np.float64)
    if textured.any():
        effects[textured] = blur_effects(patches[textured])
    per_patch = effects.min(axis=1)  # the sharpest channel
    per_patch = per_patch[np.isfinite(per_patch)]
    return float(np.percentile(per_patch, t.blur_percentile)) if len(per_patch) else 1.0


def _textured(luma: np.ndarray, min_std: float) -> np.ndarray:
    """Pixels whose 5x5 neighbourhood's luma spreads by at least ``min_std`` levels."""
    values = luma.astype(np.float32)
    mean = ndimage.uniform_filter(values, 5)
    spread = ndimage.uniform_filter(values * values, 5) - mean * mean
    return spread >= np.float32(min_std) ** 2


def _cast(pixels: np.ndarray, t: QualityThresholds) -> float:
    """How far (CIELAB a*b* units) the subject's median colour lies off the skin axis.

    Skin of every type lies near one line of the a*b* plane (hue about 50 degrees, from pale to
    dark); a green or magenta cast moves it off that line. A cast along the line (warm light) or
    towards grey (a mild blue cast) looks like other skin and is not caught (docs/quality.md).
    """
    if pixels.size == 0:
        return 0.0
    # The colour of the per-channel median: the median of a million Lab conversions is not worth
    # its 20 ms, and a cast shifts all three channels' medians alike.
    sample = pixels[:: max(1, len(pixels) // 20_000)]
    median = np.median(sample, axis=0).astype(np.float32) / np.float32(255.0)
    _, a, b = rgb2lab(median.reshape(1, 1, 3))[0, 0]
    angle = np.radians(t.skin_hue)
    return abs(-a * np.sin(angle) + b * np.cos(angle))
