"""Which device a run or a predictor uses."""

from __future__ import annotations

import torch

__all__ = ["resolve_device"]


def resolve_device(name: str | None) -> torch.device:
    """``name`` ("cpu", "cuda", "cuda:1"), or CUDA when available and nothing was asked for."""
    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)
