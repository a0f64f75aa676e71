from django.contrib import admin, messages

from .models import SegmentationModel
from .services import model_activate


@admin.register(SegmentationModel)
class SegmentationModelAdmin(admin.ModelAdmin):
    list_display = ["name", "architecture", "backbone", "is_active", "validation_f1", "created_at"]
    list_filter = ["architecture", "backbone", "is_active"]
    readonly_fields = ["checkpoint_file", "checkpoint_sha256", "created_at", "is_active", "metrics"]
    actions = ["activate"]

    def get_exclude(self, request, obj=None):
        # Once stored, the checkpoint is shown by name: the file widget would link to its storage
        # URL, and media has none (config/storage.py).
        return ["checkpoint"] if obj is not None else []

    @admin.display(description="checkpoint")
    def checkpoint_file(self, obj: SegmentationModel) -> str:
        return obj.checkpoint.name if obj.checkpoint else "-"

    @admin.display(description="validation F1")
    def validation_f1(self, obj: SegmentationModel) -> str:
        value = (obj.metrics or {}).get("f1")
        return f"{value:.4f}" if isinstance(value, int | float) else "-"

    @admin.action(description="Make active (analyses new photos; re-analyses existing ones)")
    def activate(self, request, queryset) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one model.", messages.ERROR)
            return
        model = queryset.get()
        model_activate(model=model)
        self.message_user(request, f"{model} is now the active model.")

    def has_module_permission(self, request) -> bool:
        # The registry is staff work, not something a clinician manages.
        return request.user.is_active and request.user.sees_all_patients

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    has_change_permission = has_view_permission
    has_add_permission = has_view_permission
    has_delete_permission = has_view_permission
