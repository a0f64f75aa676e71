"""The measure catalogue (segmentation/severity/catalog.py) is the one description of a measure.

What adding a measure takes: one ``Measure`` entry (its key a ``SeverityReport`` field) and, if
it has a ``column``, the ``Analysis`` field with its migration, the ``SeriesPoint`` field and the
``SeriesPointSerializer`` field (typed attributes, so written out; the tests below name any that
is missing). Every list of measure names is derived from the catalogue, and the last tests fail
when a new hand-written one appears.
"""

from __future__ import annotations

import ast
from dataclasses import asdict, fields
from pathlib import Path

from diary.api.series_serializers import SeriesPointSerializer
from diary.models import Analysis
from diary.progression.display import CLINICAL_MEASURES, MeasureDisplay
from diary.progression.mdc import MINIMAL_DETECTABLE_CHANGE, mdc_table
from diary.selectors.series import SERIES_MEASURES, SeriesPoint
from segmentation.severity import SeverityReport
from segmentation.severity.catalog import COLUMNS, HEADLINE_COLUMNS, MEASURES, measure
from segmentation.severity.grading import GRADEABLE_MEASURES
from segmentation.severity.repeatability import MDC_MEASURES
from segmentation.severity.report import LEGACY_KEYS

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "segmentation" / "severity" / "catalog.py"
NAMES = frozenset(
    name for m in MEASURES for name in (m.key, m.column, *m.legacy) if name is not None
)
#: Files allowed to hold a literal with two or more measure names, besides the catalogue: none.
ALLOWED: frozenset[str] = frozenset()


def test_the_derived_lists_are_the_catalogues():
    assert SERIES_MEASURES == COLUMNS == tuple(m.column for m in MEASURES if m.column)
    assert tuple(m.key for m in MEASURES if m.repeatability) == MDC_MEASURES
    assert tuple(m.key for m in MEASURES if m.graded) == GRADEABLE_MEASURES
    assert {old: m.key for m in MEASURES for old in m.legacy} == LEGACY_KEYS
    assert {m.name: m.mdc for m in MEASURES if m.mdc is not None} == MINIMAL_DETECTABLE_CHANGE
    assert (
        tuple(
            MeasureDisplay(key=m.name, **asdict(m.chart)) for m in MEASURES if m.shown_to_clinicians
        )
        == CLINICAL_MEASURES
    )


def test_the_values_kept_from_before_the_catalogue():
    # The behaviour of the lists the catalogue replaced: API, CSV and FHIR columns, charts, MDC.
    assert SERIES_MEASURES == (
        "lesion_skin_fraction",
        "delta_e2000",
        "ita_difference",
        "rgb_mean_difference",
    )
    assert [d.key for d in CLINICAL_MEASURES] == list(SERIES_MEASURES[:3])
    assert SERIES_MEASURES[:2] == HEADLINE_COLUMNS  # the admin's analysis columns
    assert list(MINIMAL_DETECTABLE_CHANGE.values()) == [0.06, 3.6, 10.2, 5.7, 6.8]
    # The registry's report keys map onto the series' names.
    assert mdc_table({"rgb_mean_difference_vs_rest": 9.0})["rgb_mean_difference"] == 9.0


def test_every_key_is_a_report_field_and_every_name_is_unique():
    report_fields = {f.name for f in fields(SeverityReport)}
    assert {m.key for m in MEASURES} <= report_fields
    assert len({m.key for m in MEASURES}) == len(MEASURES)
    assert len(set(COLUMNS)) == len(COLUMNS)
    assert set(HEADLINE_COLUMNS) <= set(COLUMNS)
    for m in MEASURES:
        assert measure(m.key) is m and measure(m.name) is m
        assert not set(m.legacy) & report_fields, "a legacy name must not shadow a field"


def test_every_column_is_stored_served_and_carried_by_the_series():
    model_fields = {f.name: f for f in Analysis._meta.get_fields()}
    missing = [c for c in COLUMNS if c not in model_fields]
    assert missing == [], "add the Analysis field and its migration"
    assert all(model_fields[c].get_internal_type() == "FloatField" for c in COLUMNS)
    start = SeriesPoint._fields.index("taken_at") + 1
    assert SeriesPoint._fields[start : start + len(COLUMNS)] == COLUMNS
    assert SeriesPoint._fields[start + len(COLUMNS)] == "grade"
    serializer_fields = list(SeriesPointSerializer().fields)
    start = serializer_fields.index("taken_at") + 1
    assert tuple(serializer_fields[start : start + len(COLUMNS)]) == COLUMNS


def measure_name_literals(source: str) -> list[tuple[int, list[str]]]:
    """Line and names of every tuple, list, set or dict literal (or call) naming two or more
    measures as string constants."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            items = node.elts
        elif isinstance(node, ast.Dict):
            items = [key for key in node.keys if key is not None]
        elif isinstance(node, ast.Call):  # values_list("a", "b"), only(...), a list by another name
            items = node.args
        else:
            continue
        names = [
            item.value
            for item in items
            if isinstance(item, ast.Constant) and isinstance(item.value, str)
            if item.value in NAMES
        ]
        if len(names) >= 2:
            found.append((node.lineno, names))
    return found


def _sources() -> list[Path]:
    paths = [ROOT / "manage.py"]
    for folder in ("config", "diary", "segmentation", "bench"):
        paths += [p for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts]
    return [p for p in paths if p != CATALOGUE]


def test_no_hand_written_list_of_measures_outside_the_catalogue():
    sources = _sources()
    assert len(sources) > 50
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in sources
        if str(path.relative_to(ROOT)) not in ALLOWED
        if (found := measure_name_literals(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}, "derive the list from segmentation/severity/catalog.py"


def test_the_scan_finds_a_hand_written_list():
    source = (
        'A = ("delta_e2000", "ita_difference")\n'
        'B = {"lesion_skin_fraction": 1, "rgb_mean_difference": 2}\n'
        'C = ["delta_e2000", "grade"]\n'
        'D = rows.values_list("ita_difference", "delta_e2000")\n'
    )
    assert measure_name_literals(source) == [
        (1, ["delta_e2000", "ita_difference"]),
        (2, ["lesion_skin_fraction", "rgb_mean_difference"]),
        (4, ["ita_difference", "delta_e2000"]),
    ]
