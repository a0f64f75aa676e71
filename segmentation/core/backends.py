"""Inference backends: how the predictor runs the network's forward passes.

A backend turns a loaded model into a *runner*: a function from a normalised (N, 3, H, W) batch on
the predictor's device to the (N, H, W) lesion probabilities, flip test-time augmentation
included when the checkpoint asks for it.

- ``eager``: PyTorch itself. On CUDA it uses channels_last and float16 autocast; on a CPU plain
  float32. Always available, and the reference every other backend is measured against.
- ``onnxruntime``: the model exported once to ONNX (in memory, at load time) and run by ONNX
  Runtime's CPU execution provider. Chosen because ``bench/inference.py`` measured it at least
  1.5x faster than eager on our CPU with masks that agree with eager's (Dice >= 0.99 on the
  validation photos): ``docs/performance.md``. It is a CPU backend: on CUDA the predictor runs
  eager, whatever was asked.

The other options that the benchmark tried (channels_last, ``torch.compile``, dynamic int8
quantisation) were not adopted; see ``docs/performance.md`` for why.
"""

from __future__ import annotations

import io
import logging
import time
import warnings
from collections.abc import Callable

import torch
from torch import nn

from .inference import lesion_probabilities, predict_probabilities
from .models import model_logits

__all__ = ["BACKENDS", "Runner", "build_runner", "onnx_bytes"]

logger = logging.getLogger(__name__)

BACKENDS = ("eager", "onnxruntime")
CPU_ONLY_BACKENDS = frozenset({"onnxruntime"})

Runner = Callable[[torch.Tensor], torch.Tensor]


def build_runner(
    model: nn.Module, backend: str, *, device: torch.device, size: int, flip_tta: bool
) -> tuple[Runner, str]:
    """``(runner, backend actually used)`` for ``model`` (in eval mode, already on ``device``)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown inference backend {backend!r}; valid: {', '.join(BACKENDS)}")
    if backend in CPU_ONLY_BACKENDS and device.type != "cpu":
        logger.info("Inference backend %s runs on CPUs only: eager on %s", backend, device)
        backend = "eager"
    if backend == "onnxruntime":
        return _onnxruntime_runner(model, size=size, flip_tta=flip_tta), backend
    return _eager_runner(model, device=device, flip_tta=flip_tta), backend


def _eager_runner(model: nn.Module, *, device: torch.device, flip_tta: bool) -> Runner:
    cuda = device.type == "cuda"
    if cuda:
        model.to(memory_format=torch.channels_last)

    def run(batch: torch.Tensor) -> torch.Tensor:
        if cuda:
            batch = batch.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cuda", dtype=torch.float16, enabled=cuda):
            return predict_probabilities(model, batch, flip_tta=flip_tta)

    return run


class _Logits(nn.Module):
    """The model with one output convention (torchvision's dict or smp's tensor) made a tensor."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return model_logits(self.model(image))


def onnx_bytes(model: nn.Module, *, size: int) -> bytes:
    """The model as an ONNX graph with a dynamic batch axis (TorchScript exporter, opset 17)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of dynamo's, which needs onnxscript;
        # this one exports our convolutional models exactly (checked by the tests).
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Logits(model).eval(),
            (torch.zeros(1, 3, size, size),),
            buffer,
            dynamo=False,
            input_names=["image"],
            output_names=["logits"],
            dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
            opset_version=17,
        )
    return buffer.getvalue()


def _onnxruntime_runner(model: nn.Module, *, size: int, flip_tta: bool) -> Runner:
    import onnxruntime

    started = time.perf_counter()
    options = onnxruntime.SessionOptions()
    # The same thread budget as torch, so the setting that limits one limits both.
    options.intra_op_num_threads = torch.get_num_threads()
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        onnx_bytes(model, size=size), options, providers=["CPUExecutionProvider"]
    )
    logger.info("ONNX Runtime session ready in %.1f s", time.perf_counter() - started)

    def probabilities(batch: torch.Tensor) -> torch.Tensor:
        (logits,) = session.run(None, {"image": batch.contiguous().numpy()})
        return lesion_probabilities(torch.from_numpy(logits))

    def run(batch: torch.Tensor) -> torch.Tensor:
        batch = batch.float()
        total = probabilities(batch)
        if not flip_tta:
            return total
        # The same averaging as inference.predict_probabilities: each flip flipped back first.
        for dims in ((3,), (2,)):
            total += probabilities(batch.flip(dims)).flip(tuple(d - 1 for d in dims))
        return total / 3

    return run
