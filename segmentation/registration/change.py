"""What changed between two aligned photos of a site: the later mask brought into the earlier
photo's frame, the pixels repigmented (lesion to skin), newly depigmented (skin to lesion) and
unchanged, and a PNG-ready picture of them with a legend.

Shares are of the earlier lesion **inside the part of the earlier frame that the later photo
also shows** (``overlap``): what lies outside the later photo is unknown, not repigmented.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from skimage.transform import ProjectiveTransform, warp

from segmentation.severity._checks import check_mask

__all__ = ["CHANGE_COLOURS", "LesionChange", "lesion_change", "render_change", "warp_image",
           "warp_mask"]  # fmt: skip

#: Okabe-Ito colours, told apart with every common colour-vision deficiency.
CHANGE_COLOURS = {
    "repigmented": ((0, 158, 115), "repigmented (lesion to skin)"),
    "new_lesion": ((213, 94, 0), "new lesion (skin to lesion)"),
    "unchanged": ((0, 114, 178), "unchanged lesion"),
}
_OUTSIDE = ((60, 60, 60), "not in the later photo")


@dataclass(frozen=True)
class LesionChange:
    earlier_lesion_px: int  # inside the overlap
    repigmented_px: int
    new_lesion_px: int
    unchanged_px: int
    overlap: float  # share of the earlier frame that the later photo covers
    repigmented_share: float | None  # of earlier_lesion_px; None when it is 0
    new_lesion_share: float | None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def warp_mask(
    mask: np.ndarray, matrix: np.ndarray, output_shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """``mask`` (the moving photo's) in the reference's frame, and where the moving photo lies.

    ``matrix`` maps reference (x, y) to moving (x, y), as :class:`AlignmentResult` stores it."""
    mask = check_mask(mask, mask.shape)
    transform = ProjectiveTransform(matrix=np.asarray(matrix, dtype=float))
    warped = warp(mask.astype(np.float32), transform, output_shape=output_shape, order=0,
                  cval=0.0, preserve_range=True)  # fmt: skip
    valid = warp(np.ones(mask.shape, dtype=np.float32), transform, output_shape=output_shape,
                 order=0, cval=0.0, preserve_range=True)  # fmt: skip
    return warped > 0.5, valid > 0.5


def warp_image(image: np.ndarray, matrix: np.ndarray, output_shape: tuple[int, int]) -> np.ndarray:
    """An 8-bit RGB photo in the reference's frame (bilinear; black outside the photo)."""
    transform = ProjectiveTransform(matrix=np.asarray(matrix, dtype=float))
    warped = warp(image, transform, output_shape=output_shape, order=1, cval=0.0,
                  preserve_range=True)  # fmt: skip
    return np.clip(np.rint(warped), 0, 255).astype(np.uint8)


def lesion_change(earlier: np.ndarray, later_warped: np.ndarray, valid: np.ndarray) -> LesionChange:
    """Pixel counts and shares of change; all three masks are in the earlier photo's frame."""
    earlier = check_mask(earlier, earlier.shape)
    later_warped = check_mask(later_warped, earlier.shape)
    valid = check_mask(valid, earlier.shape)
    before = earlier & valid
    after = later_warped & valid
    lesion = int(before.sum())
    repigmented = int((before & ~after).sum())
    new_lesion = int((after & ~before).sum())
    return LesionChange(
        earlier_lesion_px=lesion,
        repigmented_px=repigmented,
        new_lesion_px=new_lesion,
        unchanged_px=int((before & after).sum()),
        overlap=round(float(valid.mean()), 4),
        repigmented_share=round(repigmented / lesion, 4) if lesion else None,
        new_lesion_share=round(new_lesion / lesion, 4) if lesion else None,
    )


def render_change(
    earlier_image: np.ndarray,
    earlier: np.ndarray,
    later_warped: np.ndarray,
    valid: np.ndarray,
    *,
    alpha: float = 0.6,
) -> Image.Image:
    """The earlier photo (dimmed grey) with the three kinds of pixel coloured, what the later
    photo does not show darkened, and a legend band underneath."""
    earlier = check_mask(earlier, earlier_image.shape[:2])
    grey = earlier_image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    rgb = np.repeat((0.35 * 255 + 0.55 * grey)[..., None], 3, axis=2)
    layers = {
        "repigmented": earlier & ~later_warped & valid,
        "new_lesion": later_warped & ~earlier & valid,
        "unchanged": earlier & later_warped & valid,
    }
    for key, where in layers.items():
        colour = np.asarray(CHANGE_COLOURS[key][0], dtype=np.float32)
        rgb[where] = (1 - alpha) * rgb[where] + alpha * colour
    rgb[~valid] = 0.4 * rgb[~valid] + 0.6 * np.asarray(_OUTSIDE[0], dtype=np.float32)
    picture = Image.fromarray(np.clip(np.rint(rgb), 0, 255).astype(np.uint8))
    return _with_legend(picture)


def _with_legend(picture: Image.Image) -> Image.Image:
    entries = [*CHANGE_COLOURS.values(), _OUTSIDE]
    font_size = max(11, min(28, picture.width // 40))
    font = ImageFont.load_default(size=font_size)
    row = font_size + 8
    text_width = max(font.getlength(label) for _, label in entries)
    width = max(picture.width, round(18 + font_size + text_width))
    canvas = Image.new("RGB", (width, picture.height + row * len(entries) + 8), "white")
    canvas.paste(picture, (0, 0))
    draw = ImageDraw.Draw(canvas)
    for i, (colour, label) in enumerate(entries):
        top = picture.height + 6 + i * row
        draw.rectangle([6, top, 6 + font_size, top + font_size], fill=colour, outline="black")
        draw.text((12 + font_size, top), label, fill="black", font=font)
    return canvas
