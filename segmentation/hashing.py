"""SHA-256 of a file, read in chunks: the one copy used by the torch core, the model registry and
the diary's checkpoint cache.

It lives outside ``segmentation.core`` because importing that package loads torch, which the web
process never does; and it imports nothing from Django, so the torch core can use it too."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

__all__ = ["file_sha256", "stream_sha256"]

_CHUNK = 1 << 20


def stream_sha256(handle: BinaryIO, *, copy_to: BinaryIO | None = None) -> str:
    """Hex SHA-256 of what ``handle`` has left to read; also writes it to ``copy_to`` if given
    (so a file copied from storage is hashed in the same pass)."""
    digest = hashlib.sha256()
    for chunk in iter(lambda: handle.read(_CHUNK), b""):
        digest.update(chunk)
        if copy_to is not None:
            copy_to.write(chunk)
    return digest.hexdigest()


def file_sha256(path: Path | str) -> str:
    """Hex SHA-256 of the file at ``path``."""
    with Path(path).open("rb") as handle:
        return stream_sha256(handle)
