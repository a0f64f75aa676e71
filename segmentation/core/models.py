"""The model factory: (architecture, backbone) names to torchvision-style segmentation networks.

Every model returns ``{"out": logits}`` (plus ``"aux"`` when built with ``aux_loss``) and exposes
its encoder as ``model.backbone``, which the trainer freezes or trains with a smaller learning rate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from torch import nn
from torchvision.models import (
    MobileNet_V3_Large_Weights,
    ResNet50_Weights,
    ResNet101_Weights,
    WeightsEnum,
    segmentation,
)

from .unet import UNet
from .weights import weights_source

__all__ = ["MODELS", "PRETRAINED_SOURCES", "build_model", "count_parameters", "model_names"]

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
