from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from pipelines_app.views import serving

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI with its start-up script fetched from /api/docs/?script, not inline: the CSP runs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("pipelines_app.api.urls")),
    # MLflow's scoring paths, without a trailing slash (an MLflow client posts to .../invocations).
    path("serve/<str:model>/<slug:environment>/invocations", serving.invocations, name="serve-invocations"),
    path("serve/<str:model>/<slug:environment>/ping", serving.ping, name="serve-ping"),
    path("serve/<str:model>/<slug:environment>/version", serving.version, name="serve-version"),
    path("", include("pipelines_app.urls")),
]

handler403 = "pipelines_app.views.core.forbidden"
handler404 = "pipelines_app.views.core.not_found"
handler500 = "pipelines_app.views.core.server_error"
