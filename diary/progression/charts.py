"""Charts of a body site's series: lesion extent and colour contrast over time, with treatment
periods shaded. matplotlib's object API on the Agg canvas: no pyplot global state, so it is safe
in threaded web servers.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # before any backend is touched; the servers have no display

from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..selectors.series import BodySiteSeries, TreatmentPoint

__all__ = ["FORMATS", "TreatmentPeriod", "series_chart", "treatment_periods"]

FORMATS = {"png": "image/png", "svg": "image/svg+xml"}
# Sessions of one kind at most this many days apart are drawn as one period (e.g. phototherapy
# two or three times a week); a single entry is drawn as a one-day period.
PERIOD_GAP_DAYS = 14
_KIND_COLOURS = {
    "phototherapy": "#f4b400",
    "topical": "#0f9d58",
    "oral": "#ab47bc",
    "other": "#9e9e9e",
}


@dataclass(frozen=True)
class TreatmentPeriod:
    kind: str
    start: dt.date
    end: dt.date
    sessions: int


def treatment_periods(
    treatments: Sequence[TreatmentPoint], *, gap_days: int = PERIOD_GAP_DAYS
) -> list[TreatmentPeriod]:
    """Group dated treatment entries of the same kind into continuous periods."""
    periods: list[TreatmentPeriod] = []
    open_by_kind: dict[str, TreatmentPeriod] = {}
    for entry in sorted(treatments, key=lambda e: (e.date, e.id)):
        current = open_by_kind.get(entry.kind)
        if current is not None and (entry.date - current.end).days <= gap_days:
            current = TreatmentPeriod(entry.kind, current.start, entry.date, current.sessions + 1)
        else:
            if current is not None:
                periods.append(current)
            current = TreatmentPeriod(entry.kind, entry.date, entry.date, 1)
        open_by_kind[entry.kind] = current
    periods.extend(open_by_kind.values())
    return sorted(periods, key=lambda p: (p.start, p.kind))


def series_chart(site_series: BodySiteSeries, *, fmt: str = "png", dpi: int = 100) -> bytes:
    """Two panels sharing the time axis: lesion share of skin (%) and ΔE2000."""
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {sorted(FORMATS)}, got {fmt!r}")
    points = site_series.points
    times = [p.taken_at for p in points]
    fig = Figure(figsize=(8, 4.5), dpi=dpi, layout="constrained")
    ax_extent, ax_de = fig.subplots(2, 1, sharex=True)
    _line(ax_extent, times, [_percent(p.lesion_skin_fraction) for p in points], "#1565c0")
    ax_extent.set_ylabel("lesion / skin (%)")
    _line(ax_de, times, [p.delta_e2000 for p in points], "#c62828")
    ax_de.set_ylabel("ΔE2000")
    fig.suptitle(str(site_series.body_site), fontsize=11)

    periods = treatment_periods(site_series.treatments)
    for ax in (ax_extent, ax_de):
        for period in periods:
            # +1 day so that a single session is a visible band, not a zero-width line.
            ax.axvspan(
                period.start,
                period.end + dt.timedelta(days=1),
                color=_KIND_COLOURS.get(period.kind, "#9e9e9e"),
                alpha=0.25,
                linewidth=0,
            )
        ax.grid(True, alpha=0.3)
    if periods:
        kinds = sorted({p.kind for p in periods})
        handles = [Patch(color=_KIND_COLOURS.get(k, "#9e9e9e"), alpha=0.4, label=k) for k in kinds]
        ax_extent.legend(handles=handles, loc="upper right", fontsize=8, title="treatment")
    if not points:
        ax_extent.text(0.5, 0.5, "no analysed photos", ha="center", va="center",
                       transform=ax_extent.transAxes)  # fmt: skip
    locator = AutoDateLocator()
    ax_de.xaxis.set_major_locator(locator)
    ax_de.xaxis.set_major_formatter(ConciseDateFormatter(locator))

    buffer = io.BytesIO()
    # No creation date in the metadata: the same series gives the same bytes.
    metadata = {"Date": None} if fmt == "svg" else {"Software": None}
    fig.savefig(buffer, format=fmt, metadata=metadata)
    return buffer.getvalue()


def _percent(value: float | None) -> float | None:
    return None if value is None else 100.0 * value


def _line(ax, times, values, colour: str) -> None:
    pairs = [(t, v) for t, v in zip(times, values, strict=True) if v is not None]
    if pairs:
        xs, ys = zip(*pairs, strict=True)
        ax.plot(xs, ys, marker="o", markersize=4, color=colour, linewidth=1.5)
