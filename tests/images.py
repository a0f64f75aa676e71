"""Small synthetic lesion photos: a pale patch on a skin-coloured background."""

from __future__ import annotations

import io
from datetime import datetime

from PIL import Image, ImageDraw

SKIN = (176, 122, 95)
LESION = (236, 214, 200)


def photo_image(size: tuple[int, int] = (96, 72), *, lesion_box: float = 0.4) -> Image.Image:
    width, height = size
    image = Image.new("RGB", size, SKIN)
    inset_x, inset_y = width * (1 - lesion_box) / 2, height * (1 - lesion_box) / 2
    ImageDraw.Draw(image).ellipse(
        [inset_x, inset_y, width - inset_x, height - inset_y], fill=LESION
    )
    return image


def photo_bytes(
    size: tuple[int, int] = (96, 72),
    *,
    fmt: str = "PNG",
    taken_at: datetime | None = None,
    orientation: int | None = None,
    colour_shift: int = 0,
    taken_at_offset: str | None = None,
) -> bytes:
    """Encode a synthetic photo; ``colour_shift`` makes otherwise equal photos differ in bytes.

    ``taken_at`` goes to EXIF DateTimeOriginal, ``taken_at_offset`` (e.g. "+09:00") to
    OffsetTimeOriginal."""
    image = photo_image(size)
    if colour_shift:
        image.putpixel((0, 0), (colour_shift % 256, 0, 0))
    exif = Image.Exif()
    if taken_at is not None:
        exif.get_ifd(0x8769)[36867] = taken_at.strftime("%Y:%m:%d %H:%M:%S")
    if taken_at_offset is not None:
        exif.get_ifd(0x8769)[36881] = taken_at_offset
    if orientation is not None:
        exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, exif=exif.tobytes() if len(exif) or taken_at else b"")
    return buffer.getvalue()


def textured_skin(shape: tuple[int, int] = (360, 480), *, seed: int = 0, gain: float = 1.0):
    """A sharp, well exposed close-up for the photo quality checks: skin with fine texture
    (noise slightly smoothed) and a pale lesion in the middle, as 8-bit RGB (H, W, 3).
    ``gain`` scales every channel (0.2: a photo far too dark)."""
    import numpy as np
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    lesion = (rows - shape[0] / 2) ** 2 + (cols - shape[1] / 2) ** 2 <= (shape[0] * 0.18) ** 2
    image = np.empty((*shape, 3), dtype=np.float32)
    image[:] = (190, 130, 100)
    image[lesion] = (236, 205, 185)
    image += ndimage.gaussian_filter(rng.normal(0, 14, shape), 0.8)[..., None]
    return np.clip(image * gain, 0, 255).astype(np.uint8)


def textured_photo_bytes(*, seed: int = 0, gain: float = 1.0, fmt: str = "PNG") -> bytes:
    """:func:`textured_skin` encoded; different seeds give different bytes."""
    buffer = io.BytesIO()
    Image.fromarray(textured_skin(seed=seed, gain=gain)).save(buffer, format=fmt)
    return buffer.getvalue()
