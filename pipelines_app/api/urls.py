from django.urls import include, path
from rest_framework.routers import SimpleRouter

from pipelines_app.api import datasets, deployments, feedback, hooks, monitoring, pipelines, predictions, runs, views

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
    path("deployments/", deployments.DeploymentList.as_view(), name="api-deployments"),
    path("deployments/<slug:environment>/<str:model>/", deployments.DeploymentDetail.as_view(), name="api-deployment"),
    path("deployments/<slug:environment>/<str:model>/rollback/", deployments.Rollback.as_view(), name="api-rollback"),
    path(
        "deployments/<slug:environment>/<str:model>/analysis/",
        deployments.StartAnalysis.as_view(),
        name="api-canary-analysis",
    ),
    path(
        "deployments/<slug:environment>/<str:model>/promote-canary/",
        deployments.PromoteCanary.as_view(),
        name="api-promote-canary",
    ),
    path(
        "deployments/<slug:environment>/<str:model>/abort-canary/",
        deployments.AbortCanary.as_view(),
        name="api-abort-canary",
    ),
    path("feedback/", feedback.FeedbackView.as_view(), name="api-feedback"),
    path("predictions/<str:request_id>/", predictions.PredictionDetail.as_view(), name="api-prediction"),
    path(
        "monitoring/<str:model>/<slug:environment>/summary/",
        monitoring.MonitoringSummary.as_view(),
        name="api-monitoring-summary",
    ),
    path("", include(router.urls)),
]
