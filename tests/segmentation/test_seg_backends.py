"""Inference backends: every adopted backend's masks agree with eager PyTorch's; the worker
reads the backend from ``PIPELINE_INFERENCE_BACKEND``; an unknown name is a clear error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segmentation.core import SegmentationPredictor, build_model, save_checkpoint
from segmentation.core.backends import BACKENDS
from segmentation.core.checkpoint import make_header
from segmentation.core.models import model_normalization, output_convention
from tests.factories import register_lraspp_checkpoint
from tests.segmentation.conftest import make_pair

ADOPTED = [backend for backend in BACKENDS if backend != "eager"]


@pytest.fixture(scope="module")
def recommended_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The recommended architecture (U-Net, EfficientNet-Lite0) with flip TTA, at 64 px."""
    arch, backbone = "unet", "efficientnet_lite0"
    mean, std = model_normalization(arch, backbone)
    header = make_header(
        arch=arch,
        backbone=backbone,
        num_classes=2,
        resize_size=64,
        crop_size=64,
        mean=mean,
        std=std,
        output_convention=output_convention(arch, backbone),
        flip_tta=True,
    )
    model = build_model(arch, backbone, pretrained="imagenet")
    path = tmp_path_factory.mktemp("backends") / "unet-lite0.pth"
    return save_checkpoint(path, model=model, header=header)


def _images() -> list[Image.Image]:
    rng = np.random.default_rng(7)
    # Sizes and aspects unlike the input size: the resize back is part of what must agree.
    return [make_pair(rng, size)[0].resize((size, size * 3 // 4)) for size in (48, 80, 101)]


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2 * int((a & b).sum()) / total


@pytest.mark.parametrize("backend", ADOPTED)
@pytest.mark.parametrize("checkpoint", ["recommended_checkpoint", "trained_checkpoint"])
def test_backend_masks_agree_with_eager(backend, checkpoint, request):
    path = request.getfixturevalue(checkpoint)
    eager = SegmentationPredictor(path, device="cpu", backend="eager", threshold=0.5)
    other = SegmentationPredictor(path, device="cpu", backend=backend, threshold=0.5)
    assert (eager.backend, other.backend) == ("eager", backend)
    images = _images()
    for reference, candidate in zip(
        eager.predict_batch(images), other.predict_batch(images), strict=True
    ):
        assert candidate.probabilities.shape == reference.probabilities.shape
        np.testing.assert_allclose(
            candidate.probabilities, reference.probabilities, rtol=0, atol=1e-4
        )
        assert _dice(candidate.mask, reference.mask) >= 0.99


def test_an_unknown_backend_is_a_clear_error(trained_checkpoint):
    with pytest.raises(ValueError, match=r"unknown inference backend 'tensorrt'; valid: eager"):
        SegmentationPredictor(trained_checkpoint, device="cpu", backend="tensorrt")


@pytest.mark.django_db
@pytest.mark.parametrize("backend", BACKENDS)
def test_the_worker_uses_the_configured_backend(backend, trained_checkpoint, settings):
    from diary import segmenter_cache

    settings.PIPELINE_INFERENCE_BACKEND = backend
    settings.PIPELINE_DEVICE = "cpu"
    register_lraspp_checkpoint(
        trained_checkpoint, name="backend-test", training_data="synthetic (test)"
    )
    segmenter_cache.segmenter_cache_clear()
    try:
        loaded = segmenter_cache.segmenter_get()
        assert loaded.segmenter.backend == backend
        (prediction,) = loaded.predict_batch([_images()[0]])
        assert prediction.mask.shape == (36, 48)  # the 48x36 image, upright
    finally:
        segmenter_cache.segmenter_cache_clear()


@pytest.mark.django_db
def test_the_worker_refuses_an_unknown_backend(trained_checkpoint, settings):
    from diary import segmenter_cache

    settings.PIPELINE_INFERENCE_BACKEND = "tensorrt"
    register_lraspp_checkpoint(
        trained_checkpoint, name="backend-test", training_data="synthetic (test)"
    )
    segmenter_cache.segmenter_cache_clear()
    try:
        with pytest.raises(ValueError, match="unknown inference backend 'tensorrt'"):
            segmenter_cache.segmenter_get()
    finally:
        segmenter_cache.segmenter_cache_clear()
