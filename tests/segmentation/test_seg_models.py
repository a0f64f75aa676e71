"""Every factory entry builds and trains for a couple of steps on tiny synthetic data."""

from __future__ import annotations

import pytest
import torch

from segmentation.core import MODELS, SegmentationFolder, build_model
from segmentation.core.engine import build_optimizer, build_scheduler, train_one_epoch
from segmentation.core.losses import SegmentationLoss
from segmentation.core.models import (
    SMP_ARCHITECTURES,
    count_parameters,
    input_multiple,
    model_logits,
    model_names,
)
from segmentation.core.transforms import SegmentationPresetTrain


@pytest.mark.parametrize(("arch", "backbone"), list(MODELS), ids=model_names())
def test_every_model_trains_a_few_steps(arch, backbone, dataset_dir):
    torch.manual_seed(0)
    model = build_model(arch, backbone, num_classes=2)
    assert count_parameters(model) > 0
    dataset = SegmentationFolder(
        dataset_dir,
        names=["img_000", "img_001", "img_002", "img_003"],
        transforms=SegmentationPresetTrain(resize_size=40, crop_size=32),  # 32: smp's stride
    )
    loader = torch.utils.data.DataLoader(dataset, batch_size=2, shuffle=False)
    optimizer = build_optimizer(model, lr=1e-3)
    scheduler = build_scheduler(optimizer, total_iters=2, warmup_iters=1)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}

    loss = train_one_epoch(
        model, SegmentationLoss("ce+dice"), optimizer, loader, scheduler, torch.device("cpu")
    )

    assert torch.isfinite(torch.tensor(loss))
    changed = [n for n, p in model.named_parameters() if not torch.equal(p, before[n])]
    encoder = ("backbone.", "encoder.")
    assert any(n.startswith(encoder) for n in changed), "the encoder must be trained"
    assert any(not n.startswith(encoder) for n in changed), "the head must be trained"
    model.eval()
    # smp's decoders need sides that are multiples of the encoder's stride
    height, width = (64, 96) if input_multiple(arch, backbone) > 1 else (40, 56)
    with torch.inference_mode():
        out = model_logits(model(torch.zeros(1, 3, height, width)))
    assert out.shape == (1, 2, height, width)


def test_unknown_model_lists_the_valid_names():
    with pytest.raises(ValueError) as info:
        build_model("segformer", "resnet50")
    for name in model_names():
        assert name in str(info.value)


def test_factory_has_the_papers_models_and_the_imagenet_lite_family():
    torchvision_models = [key for key in MODELS if not key[1].startswith("efficientnet_lite")]
    assert len(torchvision_models) == 9
    assert {arch for arch, _ in torchvision_models} == {"deeplabv3", "unet", "fcn", "lraspp"}
    lite = {key for key in MODELS if key not in torchvision_models}
    assert lite == {(arch, f"efficientnet_lite{i}") for arch in SMP_ARCHITECTURES for i in range(3)}


def test_aux_head_is_built_and_counted_out():
    model = build_model("fcn", "resnet50", aux_loss=True)
    model.eval()
    with torch.inference_mode():
        out = model(torch.zeros(1, 3, 32, 32))
    assert set(out) == {"out", "aux"}
    without = build_model("fcn", "resnet50")
    assert count_parameters(model) == count_parameters(without)


@pytest.mark.parametrize(
    ("arch", "backbone", "kwargs"),
    [
        ("lraspp", "mobilenet_v3_large", {"aux_loss": True}),
        ("unet", "resnet50", {"pretrained": "coco"}),
        ("lraspp", "mobilenet_v3_large", {"pretrained": "instagram"}),
        ("lraspp", "mobilenet_v3_large", {"weights_file": "x-12345678.pth"}),
    ],
)
def test_invalid_model_options_raise(arch, backbone, kwargs):
    with pytest.raises(ValueError):
        build_model(arch, backbone, **kwargs)
