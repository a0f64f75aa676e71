"""List filters. An id filter (``?patient=``, ``?body_site=``) accepts only rows the requester
may see; any other integer answers 404 like that row's own URL would (diary.api.errors)."""

import re

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from ..models import BodySite, Photo, TreatmentEntry

_INTEGER = re.compile(r"\s*-?\d+\s*")


class _VisibleRowField(forms.ModelChoiceField):
    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError as error:
            if error.code != "invalid_choice" or not _INTEGER.fullmatch(str(value)):
                raise  # not an id at all: a plain 400
            raise ValidationError(
                "No such object among those you may see.", code="does_not_exist"
            ) from error


class VisibleRowFilter(django_filters.ModelChoiceFilter):
    field_class = _VisibleRowField


def _visible(model):
    return lambda request: model.objects.visible_to(request.user)


class DiaryFilterSet(django_filters.FilterSet):
    FILTER_DEFAULTS = {
        **django_filters.FilterSet.FILTER_DEFAULTS,
        models.ForeignKey: {
            "filter_class": VisibleRowFilter,
            "extra": lambda field: {"queryset": _visible(field.related_model)},
        },
    }


class PhotoFilter(DiaryFilterSet):
    taken_after = django_filters.IsoDateTimeFilter(field_name="taken_at", lookup_expr="gte")
    taken_before = django_filters.IsoDateTimeFilter(field_name="taken_at", lookup_expr="lte")

    class Meta:
        model = Photo
        fields = ["patient", "body_site", "status", "taken_after", "taken_before"]


class BodySiteFilter(DiaryFilterSet):
    class Meta:
        model = BodySite
        fields = ["patient", "region"]


class TreatmentEntryFilter(DiaryFilterSet):
    date_after = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    date_before = django_filters.DateFilter(field_name="date", lookup_expr="lte")

    class Meta:
        model = TreatmentEntry
        fields = ["patient", "body_site", "kind", "date_after", "date_before"]
