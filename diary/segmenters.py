"""The one bridge from the diary to ``segmentation``: a per-process cached segmenter.

The worker asks :func:`segmenter_get` before every batch. It returns the segmenter of the active
model, loading its checkpoint on first use in *this* process (so CUDA is first touched in the
worker child, never in the parent before the fork) and again only when another model became
active; with no active model it returns the training-free colour baseline. torch is imported
lazily, so the web process and the light worker never load it.

Test hook: ``PIPELINE_TEST_DELAY_SECONDS`` (environment) makes every prediction sleep that long,
so a test can kill a worker deterministically in the middle of a task. Never set it in production.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from PIL import Image

from segmentation.models import SegmentationModel
from segmentation.prediction import Prediction, Segmenter
from segmentation.selectors import active_model_get

logger = logging.getLogger(__name__)

_TEST_DELAY_ENV = "PIPELINE_TEST_DELAY_SECONDS"


@dataclass(frozen=True)
class LoadedSegmenter:
    """A ready segmenter, the registry row it came from (None for the baseline) and its label."""

    segmenter: Segmenter
    model: SegmentationModel | None
    version_label: str

    def predict_batch(self, images: list[Image.Image]) -> list[Prediction]:
        delay = float(os.environ.get(_TEST_DELAY_ENV) or 0)
        if delay > 0:
            time.sleep(delay)
        return self.segmenter.predict_batch(images)


_lock = threading.Lock()
_cache: dict[str, tuple[tuple, LoadedSegmenter]] = {}


def _cache_key(model: SegmentationModel | None) -> tuple:
    return ("baseline",) if model is None else (model.pk, model.checkpoint_sha256)


def segmenter_get() -> LoadedSegmenter:
    """The segmenter of the active model (or the colour baseline), loaded once per process."""
    model = active_model_get()
    key = _cache_key(model)
    with _lock:
        cached = _cache.get("current")
        if cached is not None and cached[0] == key:
            return cached[1]
        # Drop the previous model before loading the next, so two never share the GPU memory.
        _cache.pop("current", None)
        loaded = _load(model)
        _cache["current"] = (key, loaded)
        return loaded


def active_version_label() -> str:
    """The label analyses get now, without loading anything (for the web and light workers)."""
    model = active_model_get()
    if model is not None:
        return model.version_label
    from segmentation.severity.baseline import BASELINE_VERSION_LABEL

    return BASELINE_VERSION_LABEL


def segmenter_cache_clear() -> None:
    """Forget the cached segmenter (tests; a receiver when this process activated a model)."""
    with _lock:
        _cache.pop("current", None)


def _load(model: SegmentationModel | None) -> LoadedSegmenter:
    if model is None:
        from segmentation.severity import ColourThresholdSegmenter

        baseline = ColourThresholdSegmenter()
        logger.info("Segmenter: colour baseline %s", baseline.version_label)
        return LoadedSegmenter(baseline, None, baseline.version_label)

    from segmentation.core import SegmentationPredictor

    started = time.perf_counter()
    path = _local_checkpoint(model)
    predictor = SegmentationPredictor(
        path,
        device=settings.PIPELINE_DEVICE,
        version_label=model.version_label,
        batch_size=max(1, settings.PIPELINE_BATCH_SIZE),
        backend=settings.PIPELINE_INFERENCE_BACKEND,
    )
    logger.info(
        "Segmenter: loaded %s on %s (%s) in %.1f s",
        model.version_label,
        predictor.device,
        predictor.backend,
        time.perf_counter() - started,
    )
    return LoadedSegmenter(predictor, model, model.version_label)


def _local_checkpoint(model: SegmentationModel) -> Path:
    """A local copy of the checkpoint, read through the storage API (S3 on multi-host setups)."""
    folder = Path(tempfile.gettempdir()) / "vitiligo-diary-checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{model.checkpoint_sha256}.pth"
    if target.is_file():
        return target
    digest = hashlib.sha256()
    # Written under a private name and renamed, so concurrent workers never read half a file.
    handle, partial = tempfile.mkstemp(dir=folder, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, model.checkpoint.open("rb") as source:
            for chunk in iter(lambda: source.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != model.checkpoint_sha256:
            raise ValueError(
                f"The stored checkpoint of {model.name} does not match its recorded SHA-256."
            )
        shutil.move(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return target
