"""Runs (start, read, cancel, re-run), the model registry, and approval decisions."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from pipelines_app.api.deployments import DeploymentSerializer
from pipelines_app.engine import approvals
from pipelines_app.engine import runs as engine
from pipelines_app.engine.deployments import PromotionRefused, promote_model_version
from pipelines_app.models import (
    ApprovalRequest,
    Environment,
    ModelVersion,
    PipelineRun,
    RegisteredModel,
    StepRun,
)
from pipelines_app.models.approvals import DecisionRefused
from pipelines_app.permissions import Role
from pipelines_app.spec.models import InputsInvalid


class StepRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = StepRun
        fields = [
            "name",
            "type",
            "stage_name",
            "status",
            "attempt",
            "max_attempts",
            "worker_host",
            "progress",
            "started_at",
            "finished_at",
            "outputs",
            "error",
        ]


class ModelVersionSummarySerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model.name")

    class Meta:
        model = ModelVersion
        fields = ["model", "version", "sha256", "metrics"]


class RunSerializer(serializers.ModelSerializer):
    pipeline = serializers.CharField(source="pipeline.slug")
    pipeline_version = serializers.IntegerField(source="pipeline_version.number")
    triggered_by = serializers.CharField(source="triggered_by.username", default=None)
    steps = StepRunSerializer(many=True, read_only=True)
    model_version = ModelVersionSummarySerializer(read_only=True)

    class Meta:
        model = PipelineRun
        fields = [
            "id",
            "pipeline",
            "pipeline_version",
            "status",
            "trigger",
            "triggered_by",
            "inputs",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "model_version",
            "steps",
        ]


class StartRunSerializer(serializers.Serializer):
    inputs = serializers.DictField(required=False, default=dict)


def start_run_response(pipeline, request):
    body = StartRunSerializer(data=request.data if isinstance(request.data, dict) else {})
    body.is_valid(raise_exception=True)
    if pipeline.archived:
        return Response({"detail": "This pipeline is archived; restore it to run it."}, status=status.HTTP_409_CONFLICT)
    try:
        run = engine.start_run(pipeline, request.user, body.validated_data["inputs"], trigger="api")
    except InputsInvalid as exc:
        return Response(
            {"detail": "The runtime inputs do not fit the pipeline.", "inputs": exc.problems},
            status=status.HTTP_400_BAD_REQUEST,
        )
    return Response(RunSerializer(run).data, status=status.HTTP_201_CREATED)


class RunViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = RunSerializer
    lookup_value_regex = "[0-9]+"  # anything else is no run: 404, not a failed database lookup
    required_roles = {"cancel": Role.EDITOR, "rerun": Role.EDITOR}

    def get_queryset(self):
        runs = PipelineRun.objects.select_related(
            "pipeline", "pipeline_version", "triggered_by", "model_version__model"
        ).prefetch_related("steps")
        return runs.filtered(self.request.query_params)

    @extend_schema(request=None, responses=RunSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        run = self.get_object()
        if not engine.cancel(run, request.user):
            return Response(
                {"detail": f"Run {run.pk} has already finished ({run.status})."}, status=status.HTTP_409_CONFLICT
            )
        run.refresh_from_db()
        return Response(RunSerializer(run).data)

    @extend_schema(request=None, responses={201: RunSerializer})
    @action(detail=True, methods=["post"])
    def rerun(self, request, pk=None):
        new = engine.rerun(self.get_object(), request.user)
        return Response(RunSerializer(new).data, status=status.HTTP_201_CREATED)


class ModelVersionSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model.name")
    run = serializers.IntegerField(source="run_id", allow_null=True)
    pipeline = serializers.CharField(source="pipeline_version.pipeline.slug", default=None)
    pipeline_version = serializers.IntegerField(source="pipeline_version.number", default=None)
    dataset = serializers.CharField(source="dataset_version.ref", default=None)
    dataset_sha256 = serializers.CharField(source="dataset_version.sha256", default=None)

    class Meta:
        model = ModelVersion
        fields = [
            "model",
            "version",
            "sha256",
            "metrics",
            "task",
            "target",
            "estimator",
            "params",
            "features",
            "run",
            "pipeline",
            "pipeline_version",
            "dataset",
            "dataset_sha256",
            "library_versions",
            "created_at",
        ]


class RegisteredModelSerializer(serializers.ModelSerializer):
    latest_version = serializers.SerializerMethodField()

    class Meta:
        model = RegisteredModel
        fields = ["name", "description", "created_at", "latest_version"]

    @extend_schema_field(ModelVersionSummarySerializer(allow_null=True))
    def get_latest_version(self, model):
        version = model.latest_version()
        return ModelVersionSummarySerializer(version).data if version else None


class PromoteSerializer(serializers.Serializer):
    environment = serializers.SlugRelatedField(
        slug_field="name",
        queryset=Environment.objects.all(),
        error_messages={"does_not_exist": "No environment is named '{value}'."},
    )


class ApprovalSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model_version.model.name", default=None)
    version = serializers.IntegerField(source="model_version.version", default=None)
    run = serializers.IntegerField(source="run_id", allow_null=True)
    requested_by = serializers.CharField(source="requested_by.username", default=None)
    decisions = serializers.SerializerMethodField()

    class Meta:
        model = ApprovalRequest
        fields = [
            "id",
            "run",
            "model",
            "version",
            "environment",
            "status",
            "message",
            "approver_groups",
            "min_approvals",
            "requested_by",
            "deadline",
            "created_at",
            "decided_at",
            "decisions",
        ]

    def get_decisions(self, request) -> list[dict]:
        return [
            {"user": d.user.username, "approve": d.approve, "comment": d.comment, "at": d.created_at}
            for d in request.decisions.all()
        ]


class DecisionSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class RegisteredModelViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = RegisteredModelSerializer
    queryset = RegisteredModel.objects.all()
    lookup_field = "name"
    lookup_value_regex = "[^/]+"

    @extend_schema(responses=ModelVersionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def versions(self, request, name=None):
        model = self.get_object()
        versions = model.versions.select_related("model", "dataset_version__dataset", "pipeline_version__pipeline")
        page = self.paginate_queryset(versions)
        return self.get_paginated_response(ModelVersionSerializer(page, many=True).data)

    @extend_schema(request=PromoteSerializer, responses={201: DeploymentSerializer, 202: ApprovalSerializer})
    @action(detail=True, methods=["post"], url_path=r"versions/(?P<version>[0-9]+)/promote")
    def promote(self, request, name=None, version=None):
        """Deploy the version to an environment, or open an approval request where the environment is protected
        (202 with the request; the deploy follows its approval)."""
        model_version = get_object_or_404(ModelVersion, model=self.get_object(), version=version)
        body = PromoteSerializer(data=request.data if isinstance(request.data, dict) else {})
        body.is_valid(raise_exception=True)
        try:
            outcome, obj = promote_model_version(model_version, body.validated_data["environment"], request.user)
        except PromotionRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        if outcome == "deployed":
            return Response(
                {"status": "deployed", "deployment": DeploymentSerializer(obj).data},
                status=status.HTTP_201_CREATED,
            )
        approval = ApprovalRequest.objects.select_related("model_version__model", "requested_by").get(pk=obj.pk)
        return Response(
            {"status": "pending_approval", "approval": ApprovalSerializer(approval).data},
            status=status.HTTP_202_ACCEPTED,
        )


class ApprovalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ApprovalSerializer
    lookup_value_regex = "[0-9]+"
    # Deciding is checked per request (approver groups, four-eyes); any signed-in role may try.
    required_roles = {"approve": Role.VIEWER, "reject": Role.VIEWER}

    def get_queryset(self):
        requests = ApprovalRequest.objects.select_related("model_version__model", "requested_by").prefetch_related(
            "decisions__user"
        )
        if self.request.query_params.get("status"):
            requests = requests.filter(status=self.request.query_params["status"])
        return requests

    def _decide(self, request, pk, approve):
        approval = get_object_or_404(ApprovalRequest, pk=pk)
        body = DecisionSerializer(data=request.data if isinstance(request.data, dict) else {})
        if not body.is_valid():
            raise ValidationError(body.errors)
        try:
            approvals.decide(approval, request.user, approve, body.validated_data["comment"])
        except DecisionRefused as exc:
            return Response({"detail": str(exc)}, status=exc.status)
        return Response(ApprovalSerializer(self.get_queryset().get(pk=pk)).data)

    @extend_schema(request=DecisionSerializer, responses=ApprovalSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(request, pk, True)

    @extend_schema(request=DecisionSerializer, responses=ApprovalSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(request, pk, False)
