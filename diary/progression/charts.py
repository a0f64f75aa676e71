"""Charts of a body site's series: the clinical measures over time (names, units and axis ranges
from ``display.py``), the MDC band around the baseline and treatment periods shaded.
matplotlib's object API on the Agg canvas: no pyplot global state, so it is safe in threaded web
servers.
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
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..models.photos import MASK_SOURCE_CLINICIAN
from ..selectors.series import BodySiteSeries, TreatmentPoint
from .display import CLINICAL_MEASURES, AxisRange, MeasureDisplay, axis_range

__all__ = [
    "FORMATS",
    "NO_PHOTOS",
    "TreatmentPeriod",
    "series_chart",
    "series_figure",
    "treatment_periods",
]

NO_PHOTOS = "no analysed photos yet"
_BAND_COLOUR = "#607d8b"
_BAND_ALPHA = 0.18
# A square around the points whose mask a clinician corrected (docs/corrections.md).
_CORRECTED_COLOUR = "#205067"
CORRECTED_LABEL = "mask corrected by a clinician"

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
    """:func:`series_figure` as PNG or SVG bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {sorted(FORMATS)}, got {fmt!r}")
    return _save(series_figure(site_series, dpi=dpi), fmt)


def series_figure(site_series: BodySiteSeries, *, dpi: int = 100) -> Figure:
    """One panel per clinical measure sharing the time axis, each titled with the measure's name
    and unit (as in the page's table), its axis at least a few MDCs tall and the MDC band around
    the baseline shaded; treatment periods shaded behind. A site without analysed photos gets one
    line of text and no axes."""
    points = site_series.points
    if not points:
        fig = Figure(figsize=(8, 0.8), dpi=dpi)
        fig.text(0.5, 0.5, f"{site_series.body_site}: {NO_PHOTOS}", ha="center", va="center")
        return fig

    times = [p.taken_at for p in points]
    counted = [p.counts_in_trends for p in points]
    corrected = [p.mask_source == MASK_SOURCE_CLINICIAN for p in points]
    fig = Figure(figsize=(8, 2.2 * len(CLINICAL_MEASURES) + 0.4), dpi=dpi, layout="constrained")
    axes = fig.subplots(len(CLINICAL_MEASURES), 1, sharex=True)
    periods = treatment_periods(site_series.treatments)
    for ax, display in zip(axes, CLINICAL_MEASURES, strict=True):
        raw = [getattr(p, display.key) for p in points]
        limits = axis_range(display, raw, site_series.minimal_detectable_change)
        _panel(ax, display, times, raw, limits, counted, corrected)
        for period in periods:
            # +1 day so that a single session is a visible band, not a zero-width line.
            ax.axvspan(
                period.start,
                period.end + dt.timedelta(days=1),
                color=_KIND_COLOURS.get(period.kind, "#9e9e9e"),
                alpha=0.25,
                linewidth=0,
            )
    fig.suptitle(str(site_series.body_site), fontsize=11)
    handles = [Patch(color=_BAND_COLOUR, alpha=_BAND_ALPHA, label="baseline ± MDC")]
    kinds = sorted({p.kind for p in periods})
    handles += [Patch(color=_KIND_COLOURS.get(k, "#9e9e9e"), alpha=0.4, label=k) for k in kinds]
    if not all(counted):
        handles.append(
            Line2D([], [], marker="o", linestyle="none", markerfacecolor="white",
                   markeredgecolor="#444444", label="quality check failed: left out")
        )  # fmt: skip
    if any(corrected):
        handles.append(
            Line2D([], [], marker="s", linestyle="none", markerfacecolor="none",
                   markeredgecolor=_CORRECTED_COLOUR, label=CORRECTED_LABEL)
        )  # fmt: skip
    axes[0].legend(handles=handles, loc="upper right", fontsize=7, ncols=len(handles))
    locator = AutoDateLocator()
    axes[-1].xaxis.set_major_locator(locator)
    axes[-1].xaxis.set_major_formatter(ConciseDateFormatter(locator))
    return fig


def _panel(ax, display: MeasureDisplay, times, raw, limits: AxisRange, counted, corrected) -> None:
    ax.set_title(display.title, loc="left", fontsize=9)
    ax.set_gid(f"panel-{display.key}")
    if limits.baseline is not None:
        band = ax.axhspan(
            limits.baseline - limits.mdc,
            limits.baseline + limits.mdc,
            color=_BAND_COLOUR,
            alpha=_BAND_ALPHA,
            linewidth=0,
        )
        band.set_gid(f"mdc-band-{display.key}")
        ax.axhline(limits.baseline, color=_BAND_COLOUR, linewidth=0.8, linestyle="--")
    values = [display.value(v) for v in raw]
    _corrected_squares(ax, times, values, corrected, display.key)
    _line(ax, times, values, display.colour, counted, display.key)
    ax.set_ylim(limits.low, limits.high)
    ax.set_ylabel(display.unit)
    ax.grid(True, alpha=0.3)


def _save(fig: Figure, fmt: str) -> bytes:
    buffer = io.BytesIO()
    # No creation date in the metadata: the same series gives the same bytes.
    metadata = {"Date": None} if fmt == "svg" else {"Software": None}
    fig.savefig(buffer, format=fmt, metadata=metadata)
    return buffer.getvalue()


def _corrected_squares(ax, times, values, corrected, key: str) -> None:
    """A hollow square around each point measured on a clinician's mask, drawn before the line
    so that it sits behind the point."""
    rows = zip(times, values, corrected, strict=True)
    marked = [(t, v) for t, v, c in rows if c and v is not None]
    _markers(
        ax, marked, f"clinician-mask-{key}", marker="s", markersize=10,
        markerfacecolor="none", markeredgecolor=_CORRECTED_COLOUR, markeredgewidth=1.3,
    )  # fmt: skip


def _markers(ax, marked: list, gid: str, **style) -> None:
    """Points not joined by a line, named ``gid`` (the SVG's id) so that tests can find them."""
    if not marked:
        return
    xs, ys = zip(*marked, strict=True)
    (points,) = ax.plot(xs, ys, linestyle="none", **style)
    points.set_gid(gid)


def _line(ax, times, values, colour: str, counted, key: str) -> None:
    """The counted photos joined by a line; those a quality check refused as hollow points off
    the line, so that they are seen but not read as part of the trend."""
    rows = [(t, v, c) for t, v, c in zip(times, values, counted, strict=True) if v is not None]
    kept = [(t, v) for t, v, c in rows if c]
    left_out = [(t, v) for t, v, c in rows if not c]
    if kept:
        xs, ys = zip(*kept, strict=True)
        ax.plot(xs, ys, marker="o", markersize=4, color=colour, linewidth=1.5)
    _markers(
        ax, left_out, f"quality-failed-{key}", marker="o", markersize=6, markerfacecolor="white",
        markeredgecolor=colour, markeredgewidth=1.5,
    )  # fmt: skip
