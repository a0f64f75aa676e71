import django_filters

from ..models import BodySite, Photo, TreatmentEntry


class PhotoFilter(django_filters.FilterSet):
    taken_after = django_filters.IsoDateTimeFilter(field_name="taken_at", lookup_expr="gte")
    taken_before = django_filters.IsoDateTimeFilter(field_name="taken_at", lookup_expr="lte")

    class Meta:
        model = Photo
        fields = ["patient", "body_site", "status", "taken_after", "taken_before"]


class BodySiteFilter(django_filters.FilterSet):
    class Meta:
        model = BodySite
        fields = ["patient", "region"]


class TreatmentEntryFilter(django_filters.FilterSet):
    date_after = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    date_before = django_filters.DateFilter(field_name="date", lookup_expr="lte")

    class Meta:
        model = TreatmentEntry
        fields = ["patient", "body_site", "kind", "date_after", "date_before"]
