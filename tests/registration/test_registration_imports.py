"""The registration library stays Django-free and torch-free, like segmentation/severity."""

from __future__ import annotations

from tests.test_layering import ROOT, _imported_modules


def test_registration_imports_neither_django_nor_torch():
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name for name in _imported_modules(path) if name.split(".")[0] in {"django", "torch"}
        )
        for path in (ROOT / "segmentation" / "registration").glob("*.py")
    }
    assert offenders and {path: names for path, names in offenders.items() if names} == {}
