"""segmentation.core keeps a small public API, like segmentation_models_pytorch."""

from __future__ import annotations

import segmentation.core as core


def test_top_level_holds_what_a_user_calls_and_namespaces_for_the_parts():
    # What a user calls, the command line's choices and the header a benchmark builds: code
    # outside the package uses nothing else (tests/test_layering.py). 33 since issue 21: a user
    # trains on several data folders with union_folder (and reads its FolderUnion).
    assert len(core.__all__) <= 33
    for name in ("build_model", "train", "TrainConfig", "preset", "SegmentationPredictor",
                 "load_checkpoint", "evaluate_segmenter", "SegmentationFolder"):  # fmt: skip
        assert name in core.__all__
    for helper in ("reduce_micro", "markdown_table", "confusion_counts", "resolve_device"):
        assert helper not in core.__all__ and not hasattr(core, helper)
    assert core.metrics.reduce_micro and core.transforms.SegmentationPresetTrain
    assert core.losses.SegmentationLoss and core.encoders.LITE_ENCODERS
    from segmentation.core.device import resolve_device

    assert resolve_device("cpu").type == "cpu"
