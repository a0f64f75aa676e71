"""Inference: a :class:`segmentation.segmenter.Segmenter` over one of our checkpoints.

Resize policy: the photo is turned upright (EXIF orientation) and converted to RGB, then stretched
to ``resize_size`` x ``resize_size`` from the checkpoint header (the scale and the square aspect the
model was trained at: the training photos were themselves stretched to squares), and the lesion
probabilities are resized back to the photo's own size with bilinear interpolation. Any size and
orientation works; the outputs always match the upright photo pixel for pixel.

``backend`` picks how the forward passes run (``segmentation/core/backends.py``): ``eager``
PyTorch, or ``onnxruntime`` on a CPU (the model exported to ONNX once, when the predictor loads).

``sizes`` (eager only) predicts at several square sizes instead of ``resize_size`` alone and
averages the probabilities once each is back at the photo's size: multi-scale test-time
augmentation, or prediction at another resolution (e.g. the photo's own). Tried in
``docs/results.md`` ("Learning curve and model-side tries"); the default is the checkpoint's size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF
from PIL import Image, ImageOps

from segmentation.hashing import file_sha256
from segmentation.segmenter import Prediction

from .backends import build_runner
from .checkpoint import model_from_checkpoint
from .device import resolve_device

__all__ = ["SegmentationPredictor"]

_ORIENTATION = 0x0112  # the EXIF tag that exif_transpose reads


class SegmentationPredictor:
    """Loads a checkpoint once; ``predict`` / ``predict_batch`` return :class:`Prediction` objects.

    ``sizes`` (default: the checkpoint's ``resize_size``) are the square input sizes whose
    probabilities are averaged, each after flip TTA when the checkpoint asks for it.
    ``version_label`` defaults to ``"model:<arch>-<backbone>:<sha256[:8]>"`` of the checkpoint
    file; the Django side usually passes the registry's own label. ``threshold`` defaults to the
    one stored in the checkpoint. ``backend`` is one of ``backends.BACKENDS``; ``self.backend``
    says which one runs (CPU-only backends run eager on CUDA).
    """

    def __init__(
        self,
        checkpoint: Path | str,
        *,
        device: str | torch.device | None = None,
        version_label: str | None = None,
        threshold: float | None = None,
        batch_size: int = 8,
        backend: str = "eager",
        sizes: tuple[int, ...] | None = None,
    ) -> None:
        checkpoint = Path(checkpoint)
        self.device = resolve_device(str(device) if device is not None else None)
        model, self.header = model_from_checkpoint(checkpoint)
        self.model = model.to(self.device)
        self.threshold = float(self.header["threshold"] if threshold is None else threshold)
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must lie in [0, 1], got {self.threshold}")
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.batch_size = batch_size
        self.size = int(self.header["input"]["resize_size"])
        self.sizes = tuple(int(size) for size in sizes) if sizes else (self.size,)
        if backend != "eager" and self.sizes != (self.size,):
            raise ValueError(f"the {backend} backend predicts at {self.size} px only")
        self._mean = self.header["normalization"]["mean"]
        self._std = self.header["normalization"]["std"]
        # Older checkpoints predate test-time augmentation: they get none.
        self._flip_tta = bool(self.header.get("test_time_augmentation"))
        self._runner, self.backend = build_runner(
            self.model, backend, device=self.device, size=self.size, flip_tta=self._flip_tta
        )
        self.version_label = version_label or (
            f"model:{self.header['architecture']}-{self.header['backbone']}:"
            f"{file_sha256(checkpoint)[:8]}"
        )

    def _upright(self, image: Image.Image) -> Image.Image:
        # The worker hands over decoded RGB photos whose orientation is already applied (uploads
        # are stored upright without metadata): copying them twice more cost 2.5 ms a 640x480
        # photo and 78 ms a 12-megapixel one (docs/performance.md, "Decode once").
        if image.mode == "RGB" and image.getexif().get(_ORIENTATION, 1) == 1:
            return image
        return ImageOps.exif_transpose(image).convert("RGB")

    def _tensor(self, upright: Image.Image, size: int) -> torch.Tensor:
        resized = upright.resize((size, size), Image.Resampling.BILINEAR)
        return TF.normalize(TF.pil_to_tensor(resized).float() / 255.0, self._mean, self._std)

    @torch.inference_mode()
    def _run(self, batch: torch.Tensor) -> torch.Tensor:
        return self._runner(batch.to(self.device))

    @torch.inference_mode()
    def predict_batch(self, images: list[Image.Image]) -> list[Prediction]:
        results: list[Prediction] = []
        for start in range(0, len(images), self.batch_size):
            uprights = [self._upright(image) for image in images[start : start + self.batch_size]]
            totals: list[torch.Tensor | None] = [None] * len(uprights)
            for size in self.sizes:
                probabilities = self._run(torch.stack([self._tensor(u, size) for u in uprights]))
                for i, upright in enumerate(uprights):
                    full = F.interpolate(
                        probabilities[i][None, None],
                        size=(upright.height, upright.width),
                        mode="bilinear",
                        align_corners=False,
                    )[0, 0]
                    totals[i] = full if totals[i] is None else totals[i] + full
            for total in totals:
                mean = (total / len(self.sizes)).clamp_(0.0, 1.0)
                array = mean.cpu().numpy().astype(np.float32, copy=False)
                results.append(Prediction(array, array >= self.threshold, self.threshold))
        return results

    def predict(self, image: Image.Image) -> Prediction:
        return self.predict_batch([image])[0]
