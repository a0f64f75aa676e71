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
