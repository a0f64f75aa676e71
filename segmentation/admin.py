from django.contrib import admin, messages
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from .models import SegmentationModel
from .services import model_activate


@admin.register(SegmentationModel)
class SegmentationModelAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "architecture",
        "backbone",
        "is_active",
        "validation_f1",
        "clinic_accuracy",
        "created_at",
    ]
    list_filter = ["architecture", "backbone", "is_active"]
    readonly_fields = [
        "checkpoint_file",
        "checkpoint_sha256",
        "created_at",
        "is_active",
        "metrics",
        "clinic_accuracy",
    ]
    # Links the accuracy of every version (the colour baseline's too, which has no row here).
    change_list_template = "admin/segmentation/segmentationmodel/change_list.html"
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

    # The accuracy pages live in the diary's admin (diary/admin/accuracy.py), where the photos
    # and corrections are; they are reached here by URL name, so this app imports nothing of it.
    @admin.display(description="accuracy in the clinic")
    def clinic_accuracy(self, obj: SegmentationModel) -> str:
        if obj.pk is None:
            return "-"
        url = reverse("admin:diary_model_accuracy", args=[obj.version_label])
        return format_html('<a href="{}">against clinicians\' corrections</a>', url)

    def get_urls(self):
        view = self.admin_site.admin_view(self.accuracy_redirect_view)
        return [
            path("<int:pk>/accuracy/", view, name="segmentation_segmentationmodel_accuracy"),
            *super().get_urls(),
        ]

    def accuracy_redirect_view(self, request: HttpRequest, pk: int) -> HttpResponseRedirect:
        model = SegmentationModel.objects.filter(pk=pk).first()
        if model is None or not self.has_view_permission(request, model):
            raise Http404
        return HttpResponseRedirect(
            reverse("admin:diary_model_accuracy", args=[model.version_label])
        )

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
