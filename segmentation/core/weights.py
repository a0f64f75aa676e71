"""Getting torchvision's official weights onto machines that may be offline.

torchvision's builders load ``weights=``/``weights_backbone=`` enums through
``torch.hub.load_state_dict_from_url``, which reads ``<hub dir>/checkpoints/<file name>`` when it
exists and downloads otherwise. We keep that path (so a connected machine behaves exactly like
torchvision) and only make sure beforehand that the file is there: from ``$TORCH_HOME``, from a
user-supplied ``--weights-file``, or downloaded; and that its sha256 matches the prefix in its name.
"""

from __future__ import annotations

import logging
import re
import tempfile
import urllib.error
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torchvision.models import WeightsEnum

from segmentation.hashing import file_sha256

__all__ = ["WeightsUnavailableError", "official_filename", "verify_hash_prefix", "weights_source"]

logger = logging.getLogger(__name__)

# Same convention as torch.hub: "<name>-<first hex digits of sha256>.<ext>".
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{6,})\.")


class WeightsUnavailableError(RuntimeError):
    """The pretrained weights file is neither cached, supplied nor downloadable."""


def official_filename(weights: WeightsEnum) -> str:
    return weights.url.rsplit("/", 1)[-1]


def _hash_prefix(filename: str) -> str:
    match = _HASH_IN_NAME.search(filename)
    if match is None:
        raise ValueError(
            f"{filename!r} carries no sha256 prefix; name it like torchvision's files, "
            "'<name>-<8 hex digits of its sha256>.pth'"
        )
    return match.group(1)


def verify_hash_prefix(path: Path) -> None:
    """Raise ValueError unless the file's sha256 starts with the hex digits in its name."""
    expected = _hash_prefix(path.name)
    digest = file_sha256(path)
    if not digest.startswith(expected):
        raise ValueError(
            f"{path} is corrupt or not the file its name claims: sha256 "
            f"{digest[:16]}..."
            f" does not start with {expected}"
        )


def _missing_message(weights: WeightsEnum, cache_dir: Path, reason: str) -> str:
    name = official_filename(weights)
    return (
        f"Pretrained weights {weights} are not available ({reason}). Download {weights.url} on a "
        f"connected machine and either put it at {cache_dir / name} (the torch hub cache; set "
        f"$TORCH_HOME to move it) or pass its path with --weights-file. The file name must stay "
        f"{name!r}: its sha256 prefix is checked."
    )


@contextmanager
def weights_source(weights: WeightsEnum, weights_file: Path | str | None = None) -> Iterator[None]:
    """Within this block, torchvision's builders find ``weights`` without downloading again.

    The hub directory is process-global state: do not build models from other threads meanwhile.
    """
    name = official_filename(weights)
    if weights_file is not None:
        path = Path(weights_file)
        if not path.is_file():
            raise WeightsUnavailableError(
                _missing_message(weights, Path(torch.hub.get_dir()) / "checkpoints", f"no {path}")
            )
        verify_hash_prefix(path)
        if _hash_prefix(path.name) != _hash_prefix(name):
            logger.warning("%s is not torchvision's official %s; loading it anyway", path, name)
        previous = torch.hub.get_dir()
        with tempfile.TemporaryDirectory() as tmp:
            staged = Path(tmp, "checkpoints", name)
            staged.parent.mkdir()
            staged.symlink_to(path.resolve())
            torch.hub.set_dir(tmp)
            try:
                yield
            finally:
                torch.hub.set_dir(previous)
        return

    cache_dir = Path(torch.hub.get_dir()) / "checkpoints"
    cached = cache_dir / name
    if cached.is_file():
        verify_hash_prefix(cached)
    else:
        cache_dir.mkdir(parents=True, exist_ok=True)
        try:
            torch.hub.download_url_to_file(weights.url, str(cached), _hash_prefix(name))
        except (urllib.error.URLError, OSError) as exc:
            raise WeightsUnavailableError(_missing_message(weights, cache_dir, str(exc))) from exc
    yield
