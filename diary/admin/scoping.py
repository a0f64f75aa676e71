from django.contrib import admin


class PatientScopedAdmin(admin.ModelAdmin):
    """Narrows every list, form and lookup to ``visible_to(request.user)``.

    Clinicians need no Django permission rows: their role decides. They may view and edit
    their patients' rows; only staff add patients or delete accounts.
    """

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def _allowed(self, request) -> bool:
        user = request.user
        return user.is_active and (user.sees_all_patients or user.is_clinician)

    def has_module_permission(self, request) -> bool:
        return self._allowed(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._allowed(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._allowed(request)

    def has_add_permission(self, request) -> bool:
        return self._allowed(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._allowed(request)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Choices in forms are scoped too, or a clinician could attach rows to anyone.
        related = db_field.related_model
        if hasattr(related.objects, "visible_to"):
            kwargs["queryset"] = related.objects.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
