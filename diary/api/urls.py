from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from . import consent, errors, photos, security, views
from . import series as progression

app_name = "api"

router = DefaultRouter()
router.register("patients", views.PatientViewSet, basename="patient")
router.register("body-sites", views.BodySiteViewSet, basename="body-site")
router.register("treatments", views.TreatmentEntryViewSet, basename="treatment")
router.register("photos", photos.PhotoViewSet, basename="photo")

urlpatterns = [
    path("auth/token/", views.LoginView.as_view(), name="login"),
    path("auth/logout/", views.LogoutView.as_view(), name="logout"),
    path("me/", views.MeView.as_view(), name="me"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("patients/<int:pk>/export/", security.PatientExportView.as_view(), name="patient-export"),
    path(
        "patients/<int:pk>/erasure/", security.PatientErasureView.as_view(), name="patient-erasure"
    ),
    path(
        "patients/<int:pk>/research-consent/",
        consent.ResearchConsentView.as_view(),
        name="patient-research-consent",
    ),
    *progression.urlpatterns,
    path("", include(router.urls)),
    # Last: anything else under /api/v1/ is the JSON 404, in DEBUG too (diary/api/errors.py).
    re_path(r"^(?P<unmatched>.*)$", errors.endpoint_not_found),
]
