import io

from django.contrib import admin, messages
from django.http import Http404, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html
from PIL import Image

from segmentation.severity.catalog import HEADLINE_COLUMNS

from ..models import Analysis, Photo
from ..services.errors import ServiceError
from ..services.quality import photo_quality_include_set
from .accuracy import ModelAccuracyMixin
from .mask_editor import PhotoMaskEditorMixin
from .scoping import PatientScopedAdmin

THUMBNAIL_SIZE = (160, 160)
#: What the file view streams: the photo; the mask and overlay in force (a clinician's newest
#: correction, else the model's); the model's own mask and overlay (``model_``), which the mask
#: editor resets to.
FILE_KINDS = ("image", "mask", "overlay", "model_mask", "model_overlay")


class AnalysisInline(admin.TabularInline):
    model = Analysis
    extra = 0
    can_delete = False
    fields = ["model_version", *HEADLINE_COLUMNS, "grade", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Photo)
class PhotoAdmin(PhotoMaskEditorMixin, ModelAccuracyMixin, PatientScopedAdmin):
    list_display = [
        "thumbnail",
        "overlay_thumbnail",
        "patient",
        "body_site",
        "taken_at",
        "status",
        "quality_ok",
    ]
    list_filter = ["status", "quality_ok", "body_site__region"]
    actions = ["include_in_trends", "leave_out_of_trends"]
    date_hierarchy = "taken_at"
    list_select_related = ["patient__user", "body_site"]
    readonly_fields = [
        "preview",
        "overlay_preview",
        "mask_editor_link",
        "corrections_history",
        "sha256",
        "width",
        "height",
        "uploaded_at",
        "status",
        "error_message",
        "taken_at_source",
        "failed_quality_checks",
        "quality_included_by",
        "quality_included_at",
    ]
    fields = ["patient", "body_site", "taken_at", *readonly_fields]
    inlines = [AnalysisInline]
    change_list_template = "admin/diary/photo/change_list.html"  # links the accuracy pages

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("analyses")

    def has_add_permission(self, request) -> bool:
        return False  # photos come from the app, through the upload service

    @admin.display(description="failed quality checks")
    def failed_quality_checks(self, photo: Photo) -> str:
        failed = [c for c in photo.quality_checks or [] if not c.get("passed")]
        return "; ".join(f"{c['code']}: {c['message']}" for c in failed) or "none"

    @admin.action(description="Include in the trends although a quality check failed")
    def include_in_trends(self, request, queryset) -> None:
        self._set_included(request, queryset, include=True)

    @admin.action(description="Leave out of the trends again (the quality checks decide)")
    def leave_out_of_trends(self, request, queryset) -> None:
        self._set_included(request, queryset, include=False)

    def _set_included(self, request, queryset, *, include: bool) -> None:
        # queryset is PatientScopedAdmin's: already narrowed to visible_to(request.user).
        try:
            for photo in queryset:
                photo_quality_include_set(photo=photo, user=request.user, include=include)
        except ServiceError as error:
            self.message_user(request, error.message, messages.ERROR)
            return
        self.message_user(request, f"{queryset.count()} photo(s) updated.", messages.SUCCESS)

    def get_urls(self):
        view = self.admin_site.admin_view(self.file_view)
        return [
            path("<int:pk>/file/<str:kind>/", view, name="diary_photo_file"),
            *super().get_urls(),
        ]

    def file_view(self, request, pk: int, kind: str) -> HttpResponse:
        """Stream a photo, mask or overlay, checked against ``visible_to`` like every list."""
        photo = self.get_queryset(request).filter(pk=pk).first()
        if photo is None or kind not in FILE_KINDS:
            raise Http404
        if kind == "image":
            field_file = photo.image
        elif kind.startswith("model_"):  # the model's own mask, under any correction
            analysis = photo.latest_analysis
            field_file = getattr(analysis, kind.removeprefix("model_")) if analysis else None
        else:  # the mask in force: a clinician's newest correction, else the model's
            record = photo.mask_in_force
            field_file = getattr(record, kind) if record else None
        if not field_file:
            raise Http404
        with field_file.open("rb") as handle, Image.open(handle) as image:
            if request.GET.get("size") == "thumb":
                image.thumbnail(THUMBNAIL_SIZE)
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, format="PNG")
        response = HttpResponse(buffer.getvalue(), content_type="image/png")
        response["Cache-Control"] = "private, no-store"
        return response

    def _img(self, photo: Photo, kind: str, size: str):
        if kind != "image" and photo.latest_analysis is None:
            return "-"
        url = reverse("admin:diary_photo_file", args=[photo.pk, kind])
        return format_html(
            '<img src="{}?size={}" alt="{} of photo {}" style="max-width:100%">',
            url,
            size,
            kind,
            photo.pk,
        )

    @admin.display(description="photo")
    def thumbnail(self, photo: Photo):
        return self._img(photo, "image", "thumb")

    @admin.display(description="mask overlay")
    def overlay_thumbnail(self, photo: Photo):
        return self._img(photo, "overlay", "thumb")

    @admin.display(description="photo")
    def preview(self, photo: Photo):
        return self._img(photo, "image", "full")

    @admin.display(description="mask overlay")
    def overlay_preview(self, photo: Photo):
        return self._img(photo, "overlay", "full")


@admin.register(Analysis)
class AnalysisAdmin(PatientScopedAdmin):
    list_display = [
        "photo",
        "model_version",
        *HEADLINE_COLUMNS,
        "grade",
        "created_at",
    ]
    list_filter = ["model_version", "grade"]
    list_select_related = ["photo__body_site", "photo__patient__user"]
    # The mask and overlay are linked to the photo's permission-checked file view: Django's own
    # rendering of a file field links to its storage URL, which media does not have
    # (config/storage.py; on S3 it would be a presigned link that outlives this page's check).
    exclude = ["mask", "overlay"]
    readonly_fields = [
        *(f.name for f in Analysis._meta.fields if f.name not in ("mask", "overlay")),
        "mask_link",
        "overlay_link",
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="mask")
    def mask_link(self, analysis: Analysis):
        return self._file_link(analysis, "mask")

    @admin.display(description="overlay")
    def overlay_link(self, analysis: Analysis):
        return self._file_link(analysis, "overlay")

    def _file_link(self, analysis: Analysis, kind: str):
        if not getattr(analysis, kind):
            return "-"
        if analysis.photo.latest_analysis != analysis:
            return getattr(analysis, kind).name  # the file view streams the latest analysis's
        url = reverse("admin:diary_photo_file", args=[analysis.photo_id, f"model_{kind}"])
        return format_html('<a href="{}">{}</a>', url, getattr(analysis, kind).name)
