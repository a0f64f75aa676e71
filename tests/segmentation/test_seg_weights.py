"""Pretrained weights through torchvision's enums, offline: cached, supplied, or a clear error."""

from __future__ import annotations

import hashlib
import urllib.error
from pathlib import Path

import pytest
import torch
from torchvision.models.segmentation import lraspp_mobilenet_v3_large

from segmentation.core import WeightsUnavailableError, build_model


def _named_by_hash(state: dict, directory: Path, stem: str) -> Path:
    """Save ``state`` as ``<stem>-<sha256 prefix>.pth``, the way torchvision names its files."""
    raw = directory / "raw.pth"
    torch.save(state, raw)
    prefix = hashlib.sha256(raw.read_bytes()).hexdigest()[:8]
    return raw.rename(directory / f"{stem}-{prefix}.pth")


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An empty $TORCH_HOME and a network that refuses every download."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)

    def refuse(url, *args, **kwargs):
        raise urllib.error.URLError(f"no route to {url}")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    return tmp_path / "torch_home" / "hub" / "checkpoints"


def test_missing_weights_name_the_file_and_where_to_put_it(offline):
    with pytest.raises(WeightsUnavailableError) as info:
        build_model("deeplabv3", "mobilenet_v3_large", pretrained="imagenet")
    message = str(info.value)
    assert "mobilenet_v3_large-8738ca79.pth" in message
    assert str(offline) in message
    assert "--weights-file" in message


def test_coco_weights_from_a_supplied_file_replace_the_heads(offline, tmp_path):
    torch.manual_seed(0)
    coco = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=21)
    weights_file = _named_by_hash(coco.state_dict(), tmp_path, "lraspp_mobilenet_v3_large")

    model = build_model(
        "lraspp", "mobilenet_v3_large", pretrained="coco", weights_file=weights_file
    )

    for name, tensor in coco.backbone.state_dict().items():
        assert torch.equal(model.backbone.state_dict()[name], tensor), name
    assert model.classifier.low_classifier.out_channels == 2
    assert model.classifier.high_classifier.out_channels == 2
    assert torch.hub.get_dir() == str(offline.parent), "the hub directory must be restored"


def test_imagenet_backbone_from_a_supplied_file(offline, tmp_path):
    from torchvision.models import mobilenet_v3_large

    torch.manual_seed(1)
    backbone = mobilenet_v3_large(weights=None)
    weights_file = _named_by_hash(backbone.state_dict(), tmp_path, "mobilenet_v3_large")

    model = build_model(
        "unet", "mobilenet_v3_large", pretrained="imagenet", weights_file=weights_file
    )

    encoder = model.backbone.state_dict()
    assert encoder, "the encoder has weights"
    for name, tensor in encoder.items():
        assert torch.equal(tensor, backbone.state_dict()[name]), name


def test_a_file_whose_content_does_not_match_its_name_is_refused(offline, tmp_path):
    state = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=21)
    bad = tmp_path / "lraspp_mobilenet_v3_large-d234d4ea.pth"
    torch.save(state.state_dict(), bad)
    with pytest.raises(ValueError, match="corrupt"):
        build_model("lraspp", "mobilenet_v3_large", pretrained="coco", weights_file=bad)


def test_a_corrupt_file_in_torch_home_is_refused(offline):
    offline.mkdir(parents=True)
    (offline / "lraspp_mobilenet_v3_large-d234d4ea.pth").write_bytes(b"truncated download")
    with pytest.raises(ValueError, match="corrupt"):
        build_model("lraspp", "mobilenet_v3_large", pretrained="coco")


def test_a_weights_file_that_does_not_exist(offline, tmp_path):
    with pytest.raises(WeightsUnavailableError, match=r"lraspp_mobilenet_v3_large-d234d4ea\.pth"):
        build_model(
            "lraspp", "mobilenet_v3_large", pretrained="coco", weights_file=tmp_path / "nope.pth"
        )
