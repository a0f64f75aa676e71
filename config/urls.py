"""URLs: the admin for clinicians and the versioned API for the mobile app.

Media has no URL of its own: files are streamed by views that check permissions.
"""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("diary.api.urls")),
]

handler404 = "diary.api.errors.json_not_found"
handler500 = "diary.api.errors.json_server_error"
