from django.urls import include, path
from rest_framework.routers import SimpleRouter

from pipelines_app.api import datasets, pipelines, views

router = SimpleRouter()
router.register("pipelines", pipelines.PipelineViewSet, basename="pipeline")
router.register("datasets", datasets.DatasetViewSet, basename="dataset")

urlpatterns = [
    path("me/", views.MeView.as_view(), name="api-me"),
    path("audit/", views.AuditEventList.as_view(), name="api-audit"),
    path("", include(router.urls)),
]
