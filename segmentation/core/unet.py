"""A compact U-Net decoder over torchvision classification backbones.

The encoder is a torchvision ResNet or MobileNetV3 cut with ``feature_extraction`` at its five
strides (2, 4, 8, 16, 32), so it takes torchvision's ImageNet weights unchanged. Like torchvision's
segmentation models, ``forward`` returns ``{"out": logits}`` at the input's size.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn
from torchvision import models
from torchvision.models.feature_extraction import create_feature_extractor

__all__ = ["UNet", "unet_encoder"]

# Node names and channels of each backbone at strides 2, 4, 8, 16 and 32.
_ENCODERS: dict[str, tuple[list[str], list[int]]] = {
    "resnet50": (["relu", "layer1", "layer2", "layer3", "layer4"], [64, 256, 512, 1024, 2048]),
    "resnet101": (["relu", "layer1", "layer2", "layer3", "layer4"], [64, 256, 512, 1024, 2048]),
    "mobilenet_v3_large": (
        ["features.1", "features.3", "features.6", "features.12", "features.16"],
        [16, 24, 40, 112, 960],
    ),
}
_DECODER_CHANNELS = (256, 128, 64, 32)


def unet_encoder(backbone: str, weights_backbone=None) -> tuple[nn.Module, list[int]]:
    """A feature extractor returning the five stride levels ``"0"``..``"4"``, and their widths."""
    if backbone not in _ENCODERS:
        raise ValueError(f"no U-Net encoder {backbone!r}; valid: {sorted(_ENCODERS)}")
    nodes, channels = _ENCODERS[backbone]
    network = getattr(models, backbone)(weights=weights_backbone)
    extractor = create_feature_extractor(network, {node: str(i) for i, node in enumerate(nodes)})
    return extractor, channels


class _DecoderBlock(nn.Module):
    def __init__(self, in_channels: int, skip_channels: int, out_channels: int) -> None:
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv2d(in_channels + skip_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        # Interpolate to the skip's size, not by 2: inputs need not be multiples of 32.
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.convs(torch.cat([x, skip], dim=1))


class UNet(nn.Module):
    """U-Net: encoder levels joined to a decoder by skip connections, logits at input size."""

    def __init__(self, backbone: str, num_classes: int, weights_backbone=None) -> None:
        super().__init__()
        self.backbone, channels = unet_encoder(backbone, weights_backbone)
        blocks = []
        in_channels = channels[-1]
        for skip_channels, out_channels in zip(channels[-2::-1], _DECODER_CHANNELS, strict=True):
            blocks.append(_DecoderBlock(in_channels, skip_channels, out_channels))
            in_channels = out_channels
        self.decoder = nn.ModuleList(blocks)
        self.classifier = nn.Conv2d(in_channels, num_classes, 1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        size = x.shape[-2:]
        features = list(self.backbone(x).values())
        y = features[-1]
        for block, skip in zip(self.decoder, features[-2::-1], strict=True):
            y = block(y, skip)
        logits = F.interpolate(self.classifier(y), size=size, mode="bilinear", align_corners=False)
        return OrderedDict(out=logits)
