from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from pipelines_app.views import open_inference, serving
from pipelines_app.views.metrics import metrics

# Routes called by programs, with a token: MLflow's scoring paths and the Open Inference Protocol. Part of the site's
# URLs, and resolved on their own by mlops_site.wsgi, whose handler for them looks up no other pattern.
machine_urlpatterns = [
    # MLflow's scoring paths, without a trailing slash (an MLflow client posts to .../invocations).
    path("serve/<str:model>/<slug:environment>/invocations", serving.invocations, name="serve-invocations"),
    path("serve/<str:model>/<slug:environment>/ping", serving.ping, name="serve-ping"),
    path("serve/<str:model>/<slug:environment>/health", serving.ping, name="serve-health"),
    path("serve/<str:model>/<slug:environment>/version", serving.version, name="serve-version"),
    path("serve/<str:model>/<slug:environment>/info", serving.info, name="serve-info"),
    # The Open Inference Protocol (KServe V2): a V2 model version is one of our environments; none is production.
    path("v2", open_inference.server_metadata, name="v2-server"),
    path("v2/health/live", open_inference.health_live, name="v2-live"),
    path("v2/health/ready", open_inference.health_ready, name="v2-ready"),
    path("v2/models/<str:model>", open_inference.model_metadata, name="v2-model"),
    path("v2/models/<str:model>/ready", open_inference.model_ready, name="v2-model-ready"),
    path("v2/models/<str:model>/infer", open_inference.infer, name="v2-infer"),
    path("v2/models/<str:model>/versions/<slug:environment>", open_inference.model_metadata, name="v2-model-version"),
    path(
        "v2/models/<str:model>/versions/<slug:environment>/ready",
        open_inference.model_ready,
        name="v2-model-version-ready",
    ),
    path("v2/models/<str:model>/versions/<slug:environment>/infer", open_inference.infer, name="v2-infer-version"),
    re_path(r"^v2/(?P<rest>.*)$", open_inference.not_found, name="v2-not-found"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI with its start-up script fetched from /api/docs/?script, not inline: the CSP runs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("pipelines_app.api.urls")),
    *machine_urlpatterns,
    path("metrics", metrics, name="metrics"),  # Prometheus (docs/prometheus.md)
    path("", include("pipelines_app.urls")),
]

handler403 = "pipelines_app.views.core.forbidden"
handler404 = "pipelines_app.views.core.not_found"
handler500 = "pipelines_app.views.core.server_error"
