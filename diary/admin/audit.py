"""The audit log in the admin: read-only, for staff only (it names every patient touched)."""

from __future__ import annotations

from django.contrib import admin

from ..models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "actor_username",
        "actor_role",
        "action",
        "patient_ids",
        "method",
        "path",
        "status_code",
    ]
    list_filter = ["action", "actor_role", "method"]
    search_fields = ["actor_username", "path", "view_name"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in AuditEvent._meta.fields]

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.sees_all_patients

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    # Append-only: nobody adds, edits or deletes events by hand, staff included.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
