"""Modules stay small enough to read in one sitting: at most 300 lines outside the tests, the
benchmarks and the migrations."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 300


def test_no_module_over_300_lines():
    sources = [ROOT / "manage.py"]
    for folder in ("config", "diary", "segmentation"):
        sources += [p for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts]
    assert len(sources) > 50
    long = {
        str(path.relative_to(ROOT)): lines
        for path in sources
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
