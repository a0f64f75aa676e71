"""What the analysis of one photo came to: shared by the analysis service and its claim."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    DONE = "done"
    SKIPPED = "skipped"  # already analysed by this model version, or the photo is gone
    FAILED = "failed"
    RETRY = "retry"


@dataclass(frozen=True)
class PhotoResult:
    photo_id: int
    outcome: Outcome
    detail: str = ""
    error: BaseException | None = None
