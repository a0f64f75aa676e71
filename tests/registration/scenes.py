"""Synthetic textured skin photos for the registration tests."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

SKIN = np.array([190.0, 130.0, 100.0])
LESION = np.array([240.0, 220.0, 210.0])


def textured_skin(
    shape: tuple[int, int] = (300, 400), *, seed: int = 0, lesion_radius: float = 0.18
) -> tuple[np.ndarray, np.ndarray]:
    """A skin-coloured photo with pores and creases (luma texture at two scales) and a pale
    round lesion; returns (image uint8, lesion mask)."""
    rng = np.random.default_rng(seed)
    fine = ndimage.gaussian_filter(rng.normal(size=shape), 1.5)
    coarse = ndimage.gaussian_filter(rng.normal(size=shape), 6.0)
    texture = 22 * fine / fine.std() + 14 * coarse / coarse.std()
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    radius = lesion_radius * min(shape)
    lesion = (rows - shape[0] / 2) ** 2 + (cols - shape[1] * 0.55) ** 2 <= radius**2
    colour = np.where(lesion[..., None], LESION, SKIN)
    image = np.clip(colour + texture[..., None], 0, 255).astype(np.uint8)
    return image, lesion


def stored_photo(body_site, image: np.ndarray, *, day: int):
    """A Photo row of ``body_site`` holding ``image`` as a PNG, taken ``day`` days after START."""
    import datetime as dt
    import io

    from django.core.files.base import ContentFile
    from PIL import Image

    from tests.factories import PhotoFactory
    from tests.progression.conftest import START

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return PhotoFactory(
        body_site=body_site,
        taken_at=START + dt.timedelta(days=day),
        image=ContentFile(buffer.getvalue(), name="p.png"),
        width=image.shape[1],
        height=image.shape[0],
    )
