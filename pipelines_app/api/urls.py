from django.urls import include, path
from rest_framework.routers import SimpleRouter

from pipelines_app.api import datasets, hooks, pipelines, runs, views

router = SimpleRouter()
router.register("pipelines", pipelines.PipelineViewSet, basename="pipeline")
router.register("datasets", datasets.DatasetViewSet, basename="dataset")
router.register("runs", runs.RunViewSet, basename="run")
router.register("models", runs.RegisteredModelViewSet, basename="registered-model")
router.register("approvals", runs.ApprovalViewSet, basename="approval")

urlpatterns = [
    path("me/", views.MeView.as_view(), name="api-me"),
    path("audit/", views.AuditEventList.as_view(), name="api-audit"),
    path("hooks/pipelines/<slug:slug>/", hooks.PipelineWebhook.as_view(), name="api-pipeline-webhook"),
    path("", include(router.urls)),
]
