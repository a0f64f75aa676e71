"""The clinician's progression page of a patient: a chart per body site, a timeline of photos
beside their mask overlays, and the treatments. Mixed into PatientAdmin (diary/admin/people.py),
so the patient lookup goes through its ``visible_to`` queryset: an unassigned patient is a 404.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from ..models import Patient, Photo
from ..progression.charts import FORMATS, series_chart, treatment_periods
from ..progression.display import CLINICAL_MEASURES, VERDICTS, axis_range
from ..progression.trends import SiteTrend, site_trend
from ..selectors.series import BodySiteSeries, series_for_patient
from ..services.corrections import correction_allowed
from ..services.errors import ServiceError
from ..services.quality import photo_quality_include_set

# The newest photos per site on the page; the chart and the exports have all of them.
TIMELINE_LIMIT = 24


class PatientProgressionMixin:
    """Adds ``<pk>/progression/`` (the page) and ``<pk>/progression/chart/<site>.png``."""

    change_form_template = "admin/diary/patient/change_form.html"

    def get_urls(self):
        page = self.admin_site.admin_view(self.progression_view)
        chart = self.admin_site.admin_view(self.progression_chart_view)
        include = self.admin_site.admin_view(require_POST(self.progression_include_view))
        return [
            path("<int:pk>/progression/", page, name="diary_patient_progression"),
            path(
                "<int:pk>/progression/include/<int:photo_pk>/",
                include,
                name="diary_patient_progression_include",
            ),
            path(
                "<int:pk>/progression/chart/<int:site_pk>.png",
                chart,
                name="diary_patient_progression_chart",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="progression")
    def progression_link(self, patient: Patient) -> str:
        url = reverse("admin:diary_patient_progression", args=[patient.pk])
        return format_html('<a href="{}">progression</a>', url)

    def _patient(self, request: HttpRequest, pk: int) -> Patient:
        # get_queryset is PatientScopedAdmin's: already narrowed to visible_to(request.user).
        patient = self.get_queryset(request).filter(pk=pk).first()
        if patient is None or not self.has_view_permission(request, patient):
            raise Http404
        return patient

    def progression_view(self, request: HttpRequest, pk: int) -> TemplateResponse:
        patient = self._patient(request, pk)
        series = series_for_patient(patient=patient, user=request.user)
        refused = _refused_checks(request, series.sites)
        sites = [_site_context(site, refused) for site in series.sites]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Progression of {patient}",
            "opts": self.model._meta,
            "original": patient,
            "patient": patient,
            "model_version": series.model_version,
            "sites": sites,
            "treatments": series.treatments[::-1],
            "timeline_limit": TIMELINE_LIMIT,
            # The mask editor's link on each photo (diary/admin/mask_editor.py).
            "can_correct": correction_allowed(request.user),
            "verdicts": [
                {"status": status, "label": label, "sentence": sentence}
                for status, (label, sentence) in VERDICTS.items()
            ],
        }
        return TemplateResponse(request, "admin/diary/patient/progression.html", context)

    def progression_include_view(self, request: HttpRequest, pk: int, photo_pk: int):
        """Count a photo the quality checks refused in the trends, or stop doing so (POST)."""
        patient = self._patient(request, pk)
        photo = Photo.objects.visible_to(request.user).filter(patient=patient, pk=photo_pk).first()
        if photo is None:
            raise Http404
        include = request.POST.get("include") == "1"
        try:
            photo_quality_include_set(photo=photo, user=request.user, include=include)
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            done = "now counts in" if include else "is left out of"
            messages.success(request, f"Photo {photo.pk} {done} the trends.")
        url = reverse("admin:diary_patient_progression", args=[patient.pk])
        return HttpResponseRedirect(f"{url}#photo-{photo.pk}")

    def progression_chart_view(self, request: HttpRequest, pk: int, site_pk: int) -> HttpResponse:
        patient = self._patient(request, pk)
        site = patient.body_sites.filter(pk=site_pk).first()
        if site is None:
            raise Http404
        series = series_for_patient(patient=patient, user=request.user, body_site=site)
        response = HttpResponse(series_chart(series.sites[0], fmt="png"), FORMATS["png"])
        response["Cache-Control"] = "private, no-store"
        return response


def _refused_checks(request: HttpRequest, sites: list[BodySiteSeries]) -> dict[int, list[dict]]:
    """The failed quality checks of the timeline's refused photos, by photo id (one query)."""
    ids = [
        p.photo_id for site in sites for p in site.points[::-1][:TIMELINE_LIMIT] if not p.quality_ok
    ]
    rows = (
        Photo.objects.visible_to(request.user)
        .filter(pk__in=ids)
        .values_list("pk", "quality_checks")
    )
    return {pk: [c for c in checks or [] if not c.get("passed")] for pk, checks in rows}


def _site_context(site: BodySiteSeries, refused: dict[int, list[dict]]) -> dict:
    """What the template shows of one body site, formatted by the same ``display`` table as the
    chart so that names, units and scales agree."""
    trend = site_trend(site.points, mdc=site.minimal_detectable_change)
    return {
        "series": site,
        "trend": trend,
        "verdict": VERDICTS[trend.status][0],
        "timeline": [
            {"point": p, "failed_checks": refused.get(p.photo_id, [])}
            for p in site.points[::-1][:TIMELINE_LIMIT]
        ],
        "periods": treatment_periods(site.treatments),
        "rows": _measure_rows(site, trend),
        "chart_alt": f"Chart of {site.body_site}: "
        + "; ".join(display.title for display in CLINICAL_MEASURES),
    }


def _measure_rows(site: BodySiteSeries, trend: SiteTrend) -> list[dict]:
    rows = []
    for display in CLINICAL_MEASURES:
        measure = trend.measures[display.key]
        mdc = site.minimal_detectable_change
        limits = axis_range(display, [getattr(p, display.key) for p in site.points], mdc)
        rows.append(
            {
                "key": display.key,
                "title": display.title,
                "baseline": display.format(measure.baseline),
                "latest": display.format(measure.latest),
                "change": display.format(measure.change_since_baseline, signed=True),
                "slope": display.format(measure.slope_per_30_days, signed=True),
                "mdc": display.format(display.mdc(mdc), scaled=True),
                "status": measure.status,
                "verdict": VERDICTS[measure.status][0],
                "axis": limits,
            }
        )
    return rows
