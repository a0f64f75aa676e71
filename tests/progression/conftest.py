"""Series fixtures: analysed photos with real (small) mask and overlay PNGs, made by factories."""

from __future__ import annotations

import datetime as dt
import io
from functools import cache

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from segmentation.severity import render_mask, render_overlay
from tests.factories import AnalysisFactory, BodySiteFactory, PhotoFactory
from tests.images import photo_image

START = timezone.make_aware(dt.datetime(2025, 1, 6, 10, 0))


@cache
def _pngs(size: tuple[int, int] = (64, 48)) -> tuple[bytes, bytes]:
    image = photo_image(size)
    width, height = size
    yy, xx = np.mgrid[:height, :width]
    lesion = ((xx - width / 2) / (width * 0.2)) ** 2 + (
        (yy - height / 2) / (height * 0.2)
    ) ** 2 <= 1
    out = []
    for rendered in (render_mask(lesion), render_overlay(image, lesion)):
        buffer = io.BytesIO()
        rendered.save(buffer, format="PNG")
        out.append(buffer.getvalue())
    return out[0], out[1]


def analysed_photo(*, body_site, taken_at, model_version=None, **measures):
    """A photo of ``body_site`` and its analysis with real mask and overlay PNGs."""
    mask, overlay = _pngs()
    photo = PhotoFactory(body_site=body_site, taken_at=taken_at)
    extra = {"model_version": model_version} if model_version else {}
    return AnalysisFactory(
        photo=photo,
        mask=ContentFile(mask, name="m.png"),
        overlay=ContentFile(overlay, name="o.png"),
        **extra,
        **measures,
    )


@pytest.fixture
def make_series():
    """``make_series(patient, fractions, every_days=30)``: one analysed photo per value."""

    def make(patient, fractions, *, every_days=30, body_site=None, start=START, **kwargs):
        site = body_site or BodySiteFactory(patient=patient)
        analyses = [
            analysed_photo(
                body_site=site,
                taken_at=start + dt.timedelta(days=every_days * i),
                lesion_skin_fraction=value,
                delta_e2000=10.0 + 10 * value,
                **kwargs,
            )
            for i, value in enumerate(fractions)
        ]
        return site, analyses

    return make
