"""Decoding of uploaded photos: the bytes are trusted only once Pillow has decoded them."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pillow_heif
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ServiceError

pillow_heif.register_heif_opener()

ACCEPTED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "HEIF": "heic"}
_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 36867
_OFFSET_TIME_ORIGINAL = 36881


@dataclass(frozen=True)
class DecodedPhoto:
    """An upload after decoding: the image to store (upright, no metadata) and what it said."""

    content: bytes
    extension: str
    width: int
    height: int
    sha256: str  # of the bytes as uploaded, so the same file is recognised again
    # EXIF DateTimeOriginal: aware when OffsetTimeOriginal gave its offset, else naive (the
    # camera's local time, which only the patient's time zone can place).
    exif_taken_at: datetime | None
    # The decoded, upright pixels, for the quality checks (diary/services/quality.py).
    image: Image.Image | None = field(default=None, compare=False, repr=False)


def upload_read_limited(upload: UploadedFile, limit: int) -> bytes:
    """The bytes of an upload, or ``ServiceError`` 413 when it holds more than ``limit``."""
    if upload.size is not None and upload.size > limit:
        raise ServiceError(
            f"The file has {upload.size} bytes; at most {limit} are accepted.",
            code="file_too_large",
            status=413,
        )
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ServiceError(
            f"The file is larger than {limit} bytes.", code="file_too_large", status=413
        )
    return data


def decode_photo(data: bytes, *, max_pixels: int, min_side: int = 16) -> DecodedPhoto:
    """Decode, orient upright and re-encode without metadata, or raise ``ServiceError``.

    The answer to each kind of hostile or odd file is documented in docs/security.md ("Uploads")
    and checked by tests/security/test_upload_corpus.py.
    """
    if not data:
        raise ServiceError("The uploaded file is empty.", code="empty_file")
    try:
        # Our own pixel limit below is the documented one; Pillow's global check is not relied on.
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ACCEPTED_FORMATS:
                raise ServiceError(
                    f"Unsupported image format {image.format!r}: send JPEG, PNG, WebP or HEIC.",
                    code="unsupported_format",
                )
            if image.width * image.height > max_pixels:
                raise ServiceError(
                    f"The image has {image.width}x{image.height} pixels; at most {max_pixels} "
                    "are accepted.",
                    code="too_many_pixels",
                )
            if min(image.width, image.height) < min_side:
                # Nothing can be segmented in a few pixels; the pipeline would only fail later.
                raise ServiceError(
                    f"The image is {image.width}x{image.height} pixels; each side must have at "
                    f"least {min_side}.",
                    code="too_small",
                )
            if getattr(image, "n_frames", 1) > 1:
                raise ServiceError("Animated images are not accepted.", code="animated_image")
            taken_at = _exif_taken_at(image)
            source_format = image.format
            image.load()
            upright = _to_rgb(ImageOps.exif_transpose(image))
    except ServiceError:
        raise
    except UnidentifiedImageError as error:
        # Pillow's own message names the BytesIO object, which says nothing to a user.
        raise ServiceError(
            "The file is not a readable image: its content is not JPEG, PNG, WebP or HEIC, "
            "whatever its name says.",
            code="invalid_image",
        ) from error
    except (OSError, SyntaxError, ValueError) as error:
        raise ServiceError(
            f"The file is not a readable image ({error}).", code="invalid_image"
        ) from error
    except Image.DecompressionBombError as error:
        raise ServiceError(str(error), code="too_many_pixels") from error

    # Re-encoding drops every metadata block (GPS, device, names) and the EXIF orientation tag.
    buffer = io.BytesIO()
    if source_format in ("JPEG", "HEIF"):
        upright.save(buffer, format="JPEG", quality=95, optimize=True)
        extension = "jpg"
    else:
        upright.save(buffer, format="PNG", optimize=False)
        extension = "png"
    return DecodedPhoto(
        content=buffer.getvalue(),
        extension=extension,
        width=upright.width,
        height=upright.height,
        sha256=hashlib.sha256(data).hexdigest(),
        exif_taken_at=taken_at,
        image=upright,
    )


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: scale to 8 bits rather than letting convert() clip at 255.
        array = np.asarray(image, dtype=np.float64)
        top = array.max() or 1.0
        image = Image.fromarray((array / top * 255.0).round().astype(np.uint8), mode="L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _exif_taken_at(image: Image.Image) -> datetime | None:
    try:
        ifd = image.getexif().get_ifd(_EXIF_IFD)
    except Exception:
        return None
    raw = ifd.get(_DATETIME_ORIGINAL)
    if not isinstance(raw, str):
        return None
    try:
        naive = datetime.strptime(raw.strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset = ifd.get(_OFFSET_TIME_ORIGINAL)
    if isinstance(offset, str):
        try:
            return datetime.strptime(f"{naive.isoformat()}{offset.strip()}", "%Y-%m-%dT%H:%M:%S%z")
        except ValueError:
            pass
    return naive
