"""The training run, its schedule, optimiser groups, freezing and checkpoints."""

from __future__ import annotations

import pytest
import torch

from segmentation.core import TrainConfig, build_model, load_checkpoint, train
from segmentation.core.checkpoint import init_from_checkpoint, model_from_checkpoint
from segmentation.core.engine import build_optimizer, build_scheduler

NAMES = [f"img_{i:03d}" for i in range(12)]


def _config(**overrides) -> TrainConfig:
    values = {
        "arch": "lraspp",
        "backbone": "mobilenet_v3_large",
        "epochs": 2,
        "batch_size": 4,
        "resize_size": 72,
        "crop_size": 64,
        "progress": False,
    }
    return TrainConfig(**{**values, **overrides})


def test_training_learns_the_synthetic_patches(dataset_dir, tmp_path):
    """Light patches on skin are easy: a few epochs must beat predicting 'all lesion'."""
    result = train(
        _config(arch="unet", epochs=8, lr=3e-3, batch_size=4),
        data_root=dataset_dir,
        train_names=NAMES[:8],
        val_names=NAMES[8:],
        output=tmp_path / "unet.pth",
    )
    micro = result.metrics["val"]["micro"]
    # Labelling every pixel as lesion would give a precision of the lesion share (~15 %).
    assert micro["precision"] > 0.5
    assert micro["f1"] > 0.6
    assert len(result.history) == 8


def test_checkpoint_header_is_self_describing_and_weights_only(dataset_dir, tmp_path):
    output = tmp_path / "model.pth"
    train(
        _config(epochs=1),
        data_root=dataset_dir,
        train_names=NAMES[:8],
        val_names=NAMES[8:],
        output=output,
    )
    payload = torch.load(output, weights_only=True)
    assert payload["format"] == "vitiligo-diary-segmentation"
    header, state = load_checkpoint(output)
    assert header["architecture"] == "lraspp" and header["backbone"] == "mobilenet_v3_large"
    assert header["classes"] == ["background", "lesion"]
    assert header["input"]["resize_size"] == 72 and header["input"]["crop_size"] == 64
    assert header["normalization"]["mean"] == pytest.approx([0.485, 0.456, 0.406])
    assert header["training_args"]["epochs"] == 1
    assert header["data"]["train_images"] == 8 and len(header["data"]["train_fingerprint"]) == 64
    assert header["data"]["val_names"] == NAMES[8:]
    assert 0 <= header["metrics"]["val"]["micro"]["f1"] <= 1
    assert set(header["versions"]) >= {"torch", "torchvision", "python"}

    model, _ = model_from_checkpoint(output)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, state[name])


def test_early_stopping_stops_when_f1_stalls(dataset_dir, tmp_path):
    # lr 0 keeps every weight (and so the validation F1) fixed: epoch 1 stays the best.
    result = train(
        _config(epochs=6, lr=0.0, patience=2, bn_momentum=0.0),
        data_root=dataset_dir,
        train_names=NAMES[:4],
        val_names=NAMES[4:6],
        output=tmp_path / "m.pth",
    )
    assert result.best_epoch == 1
    assert len(result.history) == 3


def test_frozen_backbone_does_not_move(dataset_dir, tmp_path):
    torch.manual_seed(0)
    reference = build_model("lraspp", "mobilenet_v3_large").state_dict()
    train(
        _config(epochs=1, freeze_backbone_epochs=1, seed=0),
        data_root=dataset_dir,
        train_names=NAMES[:4],
        output=tmp_path / "frozen.pth",
    )
    _, state = load_checkpoint(tmp_path / "frozen.pth")
    weights = [k for k in reference if k.startswith("backbone.") and k.endswith(".weight")]
    assert all(torch.equal(state[k], reference[k]) for k in weights)
    head = [k for k in reference if k.startswith("classifier.") and k.endswith(".weight")]
    assert any(not torch.equal(state[k], reference[k]) for k in head)


def test_init_from_reinitialises_a_head_with_other_classes(trained_checkpoint):
    model = build_model("lraspp", "mobilenet_v3_large", num_classes=3)
    fresh = init_from_checkpoint(
        model, trained_checkpoint, arch="lraspp", backbone="mobilenet_v3_large"
    )
    assert fresh == sorted(
        [
            "classifier.high_classifier.bias",
            "classifier.high_classifier.weight",
            "classifier.low_classifier.bias",
            "classifier.low_classifier.weight",
        ]
    )
    _, state = load_checkpoint(trained_checkpoint)
    assert torch.equal(model.backbone.state_dict()["0.0.weight"], state["backbone.0.0.weight"])
    with pytest.raises(ValueError, match="lraspp-mobilenet_v3_large"):
        init_from_checkpoint(
            build_model("deeplabv3", "mobilenet_v3_large"),
            trained_checkpoint,
            arch="deeplabv3",
            backbone="mobilenet_v3_large",
        )


def test_overlapping_splits_are_refused(dataset_dir, tmp_path):
    with pytest.raises(ValueError, match="overlap"):
        train(
            _config(),
            data_root=dataset_dir,
            train_names=NAMES[:4],
            val_names=NAMES[3:5],
            output=tmp_path / "x.pth",
        )


@pytest.mark.parametrize("kind", ["poly", "cosine"])
def test_schedule_warms_up_then_decays_to_zero(kind):
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=1.0)
    scheduler = build_scheduler(optimizer, total_iters=10, warmup_iters=2, kind=kind)
    rates = []
    for _ in range(10):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates[0] == pytest.approx(0.01)
    assert rates[2] == pytest.approx(1.0)
    assert rates[2:] == sorted(rates[2:], reverse=True)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0)


def test_discriminative_learning_rates():
    model = build_model("lraspp", "mobilenet_v3_large")
    optimizer = build_optimizer(model, name="sgd", lr=0.1, backbone_lr_mult=0.1)
    backbone, head = optimizer.param_groups
    assert backbone["lr"] == pytest.approx(0.01) and head["lr"] == pytest.approx(0.1)
    total = sum(p.numel() for group in optimizer.param_groups for p in group["params"])
    assert total == sum(p.numel() for p in model.parameters())
    with pytest.raises(ValueError, match="adamw"):
        build_optimizer(model, name="lion")


@pytest.mark.parametrize(
    "overrides",
    [{"epochs": 0}, {"crop_size": 400}, {"freeze_backbone_epochs": 5, "epochs": 2}],
)
def test_invalid_config_raises(overrides):
    with pytest.raises(ValueError):
        _config(**overrides)
