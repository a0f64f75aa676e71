"""Hostile and unusual upload files, built in memory (a few KiB each, the bomb included)."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pillow_heif
from PIL import Image

from tests.images import photo_bytes, photo_image

pillow_heif.register_heif_opener()

GPS_IFD = 0x8825


def _save(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A valid PNG header claiming ``width`` x ``height`` RGB pixels over a tiny IDAT.

    Decoding it would need 2.7 GB; nothing here allocates more than the few bytes written.
    """
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def truncated_jpeg() -> bytes:
    data = photo_bytes((200, 150), fmt="JPEG")
    return data[: len(data) // 2]


def sixteen_bit_png() -> bytes:
    ramp = np.tile(np.linspace(0, 65535, 96, dtype=np.uint16), (72, 1))
    image = Image.fromarray(ramp)
    assert image.mode.startswith("I;16"), image.mode
    return _save(image, "PNG")


def cmyk_jpeg() -> bytes:
    return _save(photo_image().convert("CMYK"), "JPEG")


def greyscale_png() -> bytes:
    return _save(photo_image().convert("L"), "PNG")


def rgba_png() -> bytes:
    image = photo_image().convert("RGBA")
    image.putalpha(128)
    return _save(image, "PNG")


def palette_png() -> bytes:
    return _save(photo_image().convert("P", palette=Image.Palette.ADAPTIVE, colors=16), "PNG")


def animated(fmt: str) -> bytes:
    frames = [photo_image(), photo_image(lesion_box=0.6)]
    return _save(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


def exif_rotated_jpeg_with_gps() -> bytes:
    """96x72 stored sideways (orientation 6), with a GPS position and a camera model."""
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x0110] = "PrivatePhone 15"  # Model
    exif.get_ifd(0x8769)[36867] = "2024:05:06 07:08:09"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)})
    return _save(photo_image(), "JPEG", exif=exif.tobytes())


def heic() -> bytes:
    return _save(photo_image(), "HEIF", quality=80)


def webp() -> bytes:
    return _save(photo_image(), "WEBP", quality=80)
