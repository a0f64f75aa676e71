"""Records and docs name paths a reader can use: relative to the repository or the data folder,
never the temporary or home folders of the machine a run happened on."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# A machine's own folders; system paths such as /usr/bin/chromium or the image's /app are fine.
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:tmp|work|root|home|Users|private/var)/[\w.{}-]+")
SCANNED = ("README.md", "docs", "bench")


def _documents() -> list[Path]:
    files: list[Path] = []
    for name in SCANNED:
        path = ROOT / name
        if path.is_file():
            files.append(path)
        else:
            files += sorted(p for p in path.rglob("*") if p.suffix in {".md", ".json", ".py"})
    return files


def test_docs_and_records_name_no_machine_path() -> None:
    documents = _documents()
    assert len(documents) > 20  # the fold records of docs/cv are among them
    offenders = {
        str(path.relative_to(ROOT)): hits
        for path in documents
        if (hits := MACHINE_PATH.findall(path.read_text(encoding="utf-8")))
    }
    assert not offenders, f"absolute machine paths: {offenders}"


def test_machine_path_pattern_catches_what_it_must() -> None:
    assert MACHINE_PATH.search('"checkpoint": "/tmp/gpu-cv/x.pth"')
    assert MACHINE_PATH.search("--out /work/artifacts/severity")
    assert not MACHINE_PATH.search("executable_path=/usr/bin/chromium")
    assert not MACHINE_PATH.search("--out var/artifacts/severity")
