from django.contrib.auth import views as auth_views
from django.urls import path

from pipelines_app.views import accounts, audit, core, datasets, notifications, pipelines, registry, runs, tokens

urlpatterns = [
    path("", core.overview, name="overview"),
    path("system/workers/", core.worker_status_fragment, name="worker-status"),
    path("system/workers/check/", core.check_workers, name="worker-check"),
    path("accounts/login/", accounts.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", accounts.PasswordChangeView.as_view(), name="password-change"),
    path("accounts/tokens/", tokens.token_list, name="tokens"),
    path("accounts/tokens/<int:pk>/revoke/", tokens.token_revoke, name="token-revoke"),
    path("accounts/notifications/", notifications.notification_list, name="notifications"),
    path("accounts/notifications/read/", notifications.notifications_read, name="notifications-read"),
    path("audit/", audit.audit_log, name="audit"),
    path("datasets/", datasets.dataset_list, name="datasets"),
    path("datasets/upload/", datasets.dataset_upload, name="dataset-upload"),
    path("datasets/<slug:slug>/", datasets.dataset_detail, name="dataset-detail"),
    path("datasets/<slug:slug>/columns/", datasets.dataset_columns, name="dataset-columns"),
    path("datasets/<slug:slug>/v<int:number>/schema/", datasets.dataset_schema, name="dataset-schema"),
    path("pipelines/", pipelines.pipeline_list, name="pipelines"),
    path("pipelines/new/", pipelines.pipeline_new, name="pipeline-new"),
    path("pipelines/new/yaml/", pipelines.pipeline_create, name="pipeline-create"),
    path("pipelines/new/wizard/", pipelines.pipeline_wizard, name="pipeline-wizard"),
    path("pipelines/validate/", pipelines.pipeline_validate, name="pipeline-validate"),
    path("pipelines/<slug:slug>/", pipelines.pipeline_detail, name="pipeline-detail"),
    path("pipelines/<slug:slug>/edit/", pipelines.pipeline_edit, name="pipeline-edit"),
    path("pipelines/<slug:slug>/diff/", pipelines.pipeline_diff, name="pipeline-diff"),
    path("pipelines/<slug:slug>/archive/", pipelines.pipeline_archive, name="pipeline-archive"),
    path("pipelines/<slug:slug>/run/", runs.pipeline_run, name="pipeline-run"),
    path("runs/", runs.run_list, name="runs"),
    path("runs/<int:pk>/", runs.run_detail, name="run-detail"),
    path("runs/<int:pk>/live/", runs.run_live, name="run-live"),
    path("runs/<int:pk>/cancel/", runs.run_cancel, name="run-cancel"),
    path("runs/<int:pk>/rerun/", runs.run_rerun, name="run-rerun"),
    path("models/", registry.model_list, name="models"),
    path("models/<str:name>/", registry.model_detail, name="model-detail"),
    path("models/<str:name>/v<int:version>/", registry.model_version, name="model-version"),
]
urlpatterns += [path(f"{key}/", core.section_view(key), name=key) for key in core.SECTIONS]
