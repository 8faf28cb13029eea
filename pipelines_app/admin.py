from django.contrib import admin

from pipelines_app.models import (
    Alert,
    AlertRule,
    ApiToken,
    ApprovalDecision,
    ApprovalRequest,
    AuditEvent,
    CanaryAnalysis,
    Dataset,
    DatasetVersion,
    Delivery,
    Deployment,
    DeploymentEvent,
    DriftReport,
    Environment,
    Event,
    Feedback,
    ModelVersion,
    Notification,
    Pipeline,
    PipelineRun,
    PipelineVersion,
    PredictionLog,
    RegisteredModel,
    Rollup,
    RollupCursor,
    SearchTrial,
    StepRun,
    WorkerHeartbeat,
)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "actor_name", "verb", "object_type", "object_id", "object_repr"]
    list_filter = ["verb", "object_type"]
    search_fields = ["actor_name", "verb", "object_id", "object_repr"]

    # Append-only: the admin may look, never change.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "name", "predict_only", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["predict_only"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]
    search_fields = ["user__username", "name", "prefix"]

    def has_add_permission(self, request):
        return False  # a token's key is shown once: issue it with manage.py issue_token


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["host", "seen_at"]


class ReadOnlyHistoryAdmin(admin.ModelAdmin):
    """Records of what happened: admins look; the product's own pages and API change them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["slug", "created_by", "created_at"]
    search_fields = ["slug", "description"]


@admin.register(DatasetVersion)
class DatasetVersionAdmin(ReadOnlyHistoryAdmin):
    list_display = ["dataset", "number", "row_count", "column_count", "sha256", "uploaded_by", "created_at"]
    list_filter = ["dataset"]


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "model_name", "owner", "updated_at", "archived_at"]
    search_fields = ["name", "slug", "model_name"]
    # The sealed secrets are ciphertext: editing them could only break the webhook (rotate from the pipeline's page).
    exclude = ["sealed_webhook_secret", "sealed_previous_webhook_secret"]
    readonly_fields = ["current_version", "webhook_secret", "previous_webhook_secret_until"]


@admin.register(PipelineVersion)
class PipelineVersionAdmin(ReadOnlyHistoryAdmin):
    list_display = ["pipeline", "number", "author", "note", "created_at"]
    list_filter = ["pipeline"]


class StepRunInline(admin.TabularInline):
    model = StepRun
    fields = ["position", "name", "type", "status", "attempt", "worker_host", "progress", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(PipelineRun)
class PipelineRunAdmin(ReadOnlyHistoryAdmin):
    list_display = ["id", "pipeline", "status", "trigger", "triggered_by", "created_at", "finished_at"]
    list_filter = ["status", "trigger"]
    inlines = [StepRunInline]


@admin.register(RegisteredModel)
class RegisteredModelAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyHistoryAdmin):
    list_display = ["model", "version", "estimator", "sha256", "created_at"]
    list_filter = ["model"]


@admin.register(Environment)
class EnvironmentAdmin(admin.ModelAdmin):
    list_display = ["name", "approver_groups", "min_approvals", "public"]


@admin.register(Deployment)
class DeploymentAdmin(ReadOnlyHistoryAdmin):
    list_display = ["environment", "model", "primary_version", "canary_version", "canary_percent", "updated_at"]


@admin.register(DeploymentEvent)
class DeploymentEventAdmin(ReadOnlyHistoryAdmin):
    list_display = ["deployment", "action", "version", "previous_version", "actor_name", "created_at"]


@admin.register(SearchTrial)
class SearchTrialAdmin(ReadOnlyHistoryAdmin):
    list_display = ["step_run", "number", "status", "score", "worker_host", "attempt", "finished_at"]
    list_filter = ["status"]


@admin.register(CanaryAnalysis)
class CanaryAnalysisAdmin(ReadOnlyHistoryAdmin):
    list_display = ["deployment", "canary_version", "primary_version", "status", "verdict", "started_at", "decided_at"]
    list_filter = ["status"]


class ApprovalDecisionInline(admin.TabularInline):
    model = ApprovalDecision
    readonly_fields = ["user", "approve", "comment", "created_at"]
    extra = 0
    can_delete = False


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnlyHistoryAdmin):
    list_display = ["id", "run", "model_version", "environment", "status", "requested_by", "deadline"]
    list_filter = ["status"]
    inlines = [ApprovalDecisionInline]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyHistoryAdmin):
    list_display = ["user", "message", "created_at", "read_at"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyHistoryAdmin):
    list_display = ["id", "channel", "purpose", "status", "http_status", "attempts", "created_at"]
    list_filter = ["status", "channel", "purpose"]


@admin.register(Event)
class EventAdmin(ReadOnlyHistoryAdmin):
    list_display = ["id", "kind", "status", "attempts", "created_at", "processed_at"]
    list_filter = ["status", "kind"]


@admin.register(PredictionLog)
class PredictionLogAdmin(ReadOnlyHistoryAdmin):
    list_display = ["request_id", "deployment", "model_version", "role", "rows", "status_code", "created_at"]
    list_filter = ["role", "status_code"]
    # The table grows with every request: no count on the list page, look rows up by id.
    show_full_result_count = False
    search_fields = ["request_id"]
    list_select_related = ["deployment__environment", "deployment__model", "model_version__model"]


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyHistoryAdmin):
    list_display = ["request_id", "label", "created_by", "created_at"]
    search_fields = ["request_id"]


@admin.register(Rollup)
class RollupAdmin(ReadOnlyHistoryAdmin):
    list_display = ["deployment", "model_version", "role", "granularity", "bucket", "requests", "rows", "errors"]
    list_filter = ["granularity", "role"]
    show_full_result_count = False


@admin.register(RollupCursor)
class RollupCursorAdmin(ReadOnlyHistoryAdmin):
    list_display = ["name", "last_id"]


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ["deployment", "metric", "feature", "threshold", "window", "enabled", "trigger_retraining"]
    list_filter = ["metric", "enabled"]


@admin.register(Alert)
class AlertAdmin(ReadOnlyHistoryAdmin):
    list_display = ["rule", "state", "value", "started_at", "resolved_at", "acknowledged_by"]
    list_filter = ["state"]


@admin.register(DriftReport)
class DriftReportAdmin(ReadOnlyHistoryAdmin):
    list_display = ["deployment", "model_version", "window_start", "window_end", "status", "rows", "created_at"]
    list_filter = ["status"]
