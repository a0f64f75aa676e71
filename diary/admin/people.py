from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from ..models import BodySite, Patient, TreatmentEntry, User
from .alignment import BodySiteBaselineMixin
from .consent import ResearchConsentAdminMixin
from .progression import PatientProgressionMixin
from .scoping import PatientRowsInline, PatientScopedAdmin


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "first_name", "last_name", "role", "is_active"]
    list_filter = ["role", "is_active"]
    fieldsets = (*DjangoUserAdmin.fieldsets, ("Role", {"fields": ["role"]}))
    add_fieldsets = (*DjangoUserAdmin.add_fieldsets, ("Role", {"fields": ["role"]}))

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.sees_all_patients

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    has_change_permission = has_view_permission
    has_add_permission = has_module_permission
    has_delete_permission = has_view_permission


class BodySiteInline(PatientRowsInline):
    model = BodySite
    extra = 0
    fields = ["region", "label", "created_at"]
    readonly_fields = ["created_at"]


class TreatmentInline(PatientRowsInline):
    model = TreatmentEntry
    extra = 0
    fields = ["date", "kind", "body_site", "dose", "notes"]


@admin.register(Patient)
class PatientAdmin(ResearchConsentAdminMixin, PatientProgressionMixin, PatientScopedAdmin):
    list_display = [
        "__str__",
        "birth_year",
        "sex",
        "fitzpatrick_skin_type",
        "time_zone",
        "research_consent",
        "photo_count",
        "progression_link",
    ]
    list_filter = ["sex", "fitzpatrick_skin_type", "research_consent"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    filter_horizontal = ["clinicians"]
    inlines = [BodySiteInline, TreatmentInline]

    def get_queryset(self, request):
        from django.db.models import Count

        return (
            super()
            .get_queryset(request)
            .select_related("user")
            .annotate(_photo_count=Count("photos"))
        )

    @admin.display(description="photos", ordering="_photo_count")
    def photo_count(self, patient: Patient) -> int:
        return patient._photo_count

    def has_add_permission(self, request) -> bool:
        return request.user.is_active and request.user.sees_all_patients

    def has_delete_permission(self, request, obj=None) -> bool:
        # Its own method: Django calls it with the object, which has_add_permission does not take.
        return self.has_add_permission(request)

    def get_readonly_fields(self, request, obj=None):
        # Who follows whom is decided by staff, not by the clinicians themselves.
        staff_only = [] if request.user.sees_all_patients else ["account", "clinicians"]
        return [*super().get_readonly_fields(request, obj), *staff_only]

    def get_exclude(self, request, obj=None):
        # Clinicians see the account as text (``account``): Django renders a read-only ``user``
        # as a link to the user record, which only staff may open (a 403 for a clinician).
        return None if request.user.sees_all_patients else ["user"]

    @admin.display(description="account")
    def account(self, patient: Patient) -> str:
        user = patient.user
        name = user.get_full_name()
        return f"{name} ({user.username})" if name else user.username


@admin.register(BodySite)
class BodySiteAdmin(BodySiteBaselineMixin, PatientScopedAdmin):
    list_display = ["label", "region", "patient", "created_at"]
    list_filter = ["region"]
    search_fields = ["label", "patient__user__username"]
    list_select_related = ["patient__user"]


@admin.register(TreatmentEntry)
class TreatmentEntryAdmin(PatientScopedAdmin):
    list_display = ["date", "kind", "patient", "body_site", "dose"]
    list_filter = ["kind"]
    date_hierarchy = "date"
    list_select_related = ["patient__user", "body_site"]
