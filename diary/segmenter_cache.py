"""The one bridge from the diary to ``segmentation``: a per-process cached segmenter.

The worker asks :func:`segmenter_get` before every batch. It returns the segmenter of the active
model, loading its checkpoint on first use in *this* process (so CUDA is first touched in the
worker child, never in the parent before the fork) and again only when another model became
active; with no active model it returns the training-free colour baseline. torch is imported
lazily, so the web process and the light worker never load it.

Test hooks (environment; never set them in production): ``PIPELINE_TEST_DELAY_SECONDS`` makes
every prediction sleep that long, so a test can kill a worker deterministically in the middle of a
task; ``PIPELINE_TEST_CRASH_ON_SIZE=WxH`` makes the process kill itself (SIGKILL, as the
out-of-memory killer would) when asked to segment a photo of that size: a "poison" photo.
"""

from __future__ import annotations

import logging
import os
import signal
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from PIL import Image

from segmentation.hashing import file_sha256, stream_sha256
from segmentation.models import SegmentationModel
from segmentation.segmenter import Prediction, Segmenter
from segmentation.selectors import active_model_get

from .versions import active_version_label, version_label_of

logger = logging.getLogger(__name__)

__all__ = [
    "LoadedSegmenter",
    "active_version_label",
    "segmenter_cache_clear",
    "segmenter_get",
]

_TEST_DELAY_ENV = "PIPELINE_TEST_DELAY_SECONDS"
_TEST_CRASH_ENV = "PIPELINE_TEST_CRASH_ON_SIZE"


class ForwardClock:
    """Milliseconds spent in a network's forward passes, through module hooks.

    The pipeline reports the forward pass apart from the resizing and normalisation around it
    (docs/performance.md). On CUDA the end hook waits for the kernels, which the copy of the
    probabilities back to the host would wait for anyway.
    """

    def __init__(self, network, *, cuda: bool) -> None:
        self.total_ms = 0.0
        self._started = 0.0
        self._cuda = cuda
        network.register_forward_pre_hook(self._start)
        network.register_forward_hook(self._stop)

    def _start(self, module, args) -> None:
        self._started = time.perf_counter()

    def _stop(self, module, args, output) -> None:
        if self._cuda:
            import torch

            torch.cuda.synchronize()
        self.total_ms += (time.perf_counter() - self._started) * 1000.0


@dataclass(frozen=True)
class LoadedSegmenter:
    """A ready segmenter, the registry row it came from (None for the baseline) and its label."""

    segmenter: Segmenter
    model: SegmentationModel | None
    version_label: str
    clock: ForwardClock | None = None  # None for the colour baseline: it has no network

    def predict_batch(self, images: list[Image.Image]) -> list[Prediction]:
        delay = float(os.environ.get(_TEST_DELAY_ENV) or 0)
        if delay > 0:
            time.sleep(delay)
        crash_on = os.environ.get(_TEST_CRASH_ENV)
        if crash_on and any(f"{i.width}x{i.height}" == crash_on for i in images):
            os.kill(os.getpid(), signal.SIGKILL)
        if self.clock is not None:
            self.clock.total_ms = 0.0
        return self.segmenter.predict_batch(images)

    @property
    def forward_ms(self) -> float | None:
        """Time in the network's forward passes during the last :meth:`predict_batch`."""
        return None if self.clock is None else self.clock.total_ms


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


def segmenter_cache_clear() -> None:
    """Forget the cached segmenter (tests; a receiver when this process activated a model)."""
    with _lock:
        _cache.pop("current", None)


def _load(model: SegmentationModel | None) -> LoadedSegmenter:
    if model is None:
        from segmentation.severity import ColourThresholdSegmenter

        baseline = ColourThresholdSegmenter()
        label = version_label_of(None)
        logger.info("Segmenter: colour baseline %s", label)
        return LoadedSegmenter(baseline, None, label)

    from segmentation.core import SegmentationPredictor

    started = time.perf_counter()
    path = _local_checkpoint(model)
    predictor = SegmentationPredictor(
        path,
        device=settings.PIPELINE_DEVICE,
        version_label=version_label_of(model),
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
    clock = ForwardClock(predictor.model, cuda=predictor.device.type == "cuda")
    return LoadedSegmenter(predictor, model, version_label_of(model), clock)


def _local_checkpoint(model: SegmentationModel) -> Path:
    """A local copy of the checkpoint, read through the storage API (S3 on multi-host setups).

    The copy lives in a folder private to this process's user (mode 0700), and a cached copy is
    hashed again before use: another user of the shared temporary folder could otherwise plant a
    file under the expected name, and torch would load it.
    """
    folder = Path(tempfile.gettempdir()) / f"vitiligo-diary-checkpoints-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    if folder.is_symlink() or folder.stat().st_uid != os.getuid():
        raise PermissionError(f"{folder} is not owned by this process's user; not using it.")
    folder.chmod(0o700)
    target = folder / f"{model.checkpoint_sha256}.pth"
    if target.is_file():
        if file_sha256(target) == model.checkpoint_sha256:
            return target
        logger.warning("Cached checkpoint %s does not match its SHA-256; copying it again", target)
        target.unlink()
    # Written under a private name and renamed, so concurrent workers never read half a file.
    handle, partial = tempfile.mkstemp(dir=folder, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, model.checkpoint.open("rb") as source:
            digest = stream_sha256(source, copy_to=out)
        if digest != model.checkpoint_sha256:
            raise ValueError(
                f"The stored checkpoint of {model.name} does not match its recorded SHA-256."
            )
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return target
