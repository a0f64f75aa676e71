"""Every severity measure, described once: the one place to add or change a measure.

A leaf module (it imports nothing from the project), read by the Django-free severity library
(grading, repeatability, report keys) and by the diary (model columns, series, MDC table,
serializers, CSV and FHIR exports, clinician charts). Every list of measure names elsewhere is
derived from :data:`MEASURES`; ``tests/severity/test_measure_catalog.py`` fails on a new
hand-written one.

Adding a measure: one :class:`Measure` entry below (the :class:`SeverityReport` field of the same
name must exist), plus, when it is stored in a column (``column``), the ``Analysis`` field and its
migration; the test above lists what is still missing.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["COLUMNS", "HEADLINE_COLUMNS", "MEASURES", "Chart", "Measure", "measure"]


@dataclass(frozen=True)
class Chart:
    """How the clinician charts show a measure (``diary.progression.display.MeasureDisplay``)."""

    title: str
    unit: str
    scale: float  # display value = stored value * scale
    decimals: int
    colour: str
    floor: float | None = None
    ceiling: float | None = None


@dataclass(frozen=True)
class Measure:
    #: The ``SeverityReport`` field and the key in an analysis' stored ``measures``.
    key: str
    #: The ``Analysis`` column, and the name in series, API, CSV and FHIR; None: only in
    #: ``measures`` (the JSON of the whole report).
    column: str | None
    #: The exports' description (FHIR ``code.text``, CSV), unit and UCUM code.
    label: str
    unit: str
    ucum: str
    #: The default MDC95 (ground truth, docs/severity.md "Repeatability"); None: repeatability is
    #: not measured for it. A model's own MDC replaces it (``diary.progression.mdc.mdc_table``).
    mdc: float | None = None
    #: Keys stored before a rename (issue 12): ``SeverityReport.as_dict`` still writes them and
    #: ``GradeThresholds`` accepts them.
    legacy: tuple[str, ...] = ()
    #: A grade may be based on it (``GradeThresholds.measure``).
    graded: bool = False
    #: Checked by ``bench/severity_validation.py`` (lighting, normalisation, background).
    validated: bool = False
    #: Shown to clinicians (progression page, chart PNG); None: not shown.
    chart: Chart | None = None
    #: A headline measure (extent, colour contrast): the admin's analysis columns, and what
    #: ``bench/quality_validation.py`` checks a degraded photo's change against.
    headline: bool = False

    @property
    def name(self) -> str:
        """The diary's name of the measure: its column, or its report key if it has none."""
        return self.column or self.key

    @property
    def repeatability(self) -> bool:
        """Its MDC is measured on augmented copies (``segmentation.severity.repeatability``)."""
        return self.mdc is not None

    @property
    def shown_to_clinicians(self) -> bool:
        return self.chart is not None


# The order is the report's and every derived list's (API, CSV and FHIR columns, charts, tables).
# MDC95 = 1.96 * sqrt(2) * SEM, SEM = the within-photo SD of the measure over augmented copies of
# the same photo with ground-truth masks, rounded up: lesion_skin_fraction 2.77 * 0.021 = 0.058
# -> 0.06; delta_e2000 2.77 * 1.290 = 3.58 -> 3.6 (grey-world estimated from the skin since
# issue 12; 1.117 -> 3.1 with the whole photo).
MEASURES: tuple[Measure, ...] = (
    Measure(
        key="lesion_skin_fraction",
        column="lesion_skin_fraction",
        label="Lesion area as a fraction of visible skin",
        unit="fraction",
        ucum="1",
        mdc=0.06,
        graded=True,
        validated=True,
        headline=True,
        chart=Chart(
            title="Depigmented area, % of visible skin",
            unit="%",
            scale=100.0,
            decimals=1,
            colour="#1565c0",
            floor=0.0,
            ceiling=100.0,
        ),
    ),
    Measure(
        key="largest_lesion_fraction",
        column=None,
        label="Largest lesion as a fraction of visible skin",
        unit="fraction",
        ucum="1",
        validated=True,
    ),
    Measure(
        key="lesion_count",
        column=None,
        label="Number of lesions",
        unit="lesions",
        ucum="1",
        validated=True,
    ),
    Measure(
        key="delta_e2000",
        column="delta_e2000",
        label="CIEDE2000 colour difference, lesion vs perilesional skin",
        unit="ΔE00",
        ucum="1",
        mdc=3.6,
        graded=True,
        validated=True,
        headline=True,
        chart=Chart(
            title="Colour contrast ΔE2000",
            unit="ΔE",
            scale=1.0,
            decimals=1,
            colour="#c62828",
            floor=0.0,
        ),
    ),
    Measure(
        key="delta_e2000_skin",
        column=None,
        label="CIEDE2000 colour difference, lesion vs non-lesion skin",
        unit="ΔE00",
        ucum="1",
        graded=True,
        validated=True,
    ),
    Measure(
        key="delta_l",
        column=None,
        label="L* difference, lesion minus perilesional skin",
        unit="L*",
        ucum="1",
        graded=True,
        validated=True,
    ),
    Measure(
        key="ita_difference",
        column="ita_difference",
        label="Individual typology angle, lesion minus surrounding",
        unit="degrees",
        ucum="deg",
        mdc=10.2,
        graded=True,
        validated=True,
        chart=Chart(
            title="Skin-tone contrast ΔITA°, lesion minus surrounding skin",
            unit="°",
            scale=1.0,
            decimals=1,
            colour="#6a1b9a",
        ),
    ),
    # The paper's: lesion vs every other pixel, background included. Not shown to clinicians
    # (background-dependent, so not a clinical measure); it stays in the API, CSV and FHIR.
    Measure(
        key="rgb_mean_difference_vs_rest",
        column="rgb_mean_difference",
        label="Mean RGB difference, lesion minus the rest of the photo incl. background (8-bit)",
        unit="levels",
        ucum="1",
        mdc=5.7,
        legacy=("rgb_mean_difference",),
        graded=True,
        validated=True,
    ),
    # The same difference against non-lesion skin only; not in the series yet, its MDC serves the
    # background test (tests/severity/test_severity_background.py).
    Measure(
        key="rgb_mean_difference_vs_skin",
        column=None,
        label="Mean RGB difference, lesion minus non-lesion skin (8-bit)",
        unit="levels",
        ucum="1",
        mdc=6.8,
        legacy=("rgb_skin_mean_difference",),
        graded=True,
        validated=True,
    ),
)

#: The ``Analysis`` columns, in order: the series' measures (API, CSV, FHIR).
COLUMNS: tuple[str, ...] = tuple(m.column for m in MEASURES if m.column is not None)
#: The headline measures' columns (every headline measure has one; the catalogue test checks).
HEADLINE_COLUMNS: tuple[str, ...] = tuple(m.name for m in MEASURES if m.headline)

_BY_NAME = {name: m for m in MEASURES for name in dict.fromkeys((m.key, m.name))}


def measure(name: str) -> Measure:
    """The measure whose report key or diary name is ``name``."""
    return _BY_NAME[name]
