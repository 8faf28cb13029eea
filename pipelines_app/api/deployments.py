"""Deployments: what serves where (now or at a given time), rollback, promote or abort a canary, judge it
automatically (canary analysis)."""

from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from pipelines_app.engine import deployments as engine
from pipelines_app.models import Deployment, DeploymentEvent
from pipelines_app.monitoring import canary
from pipelines_app.permissions import Role
from pipelines_app.spec.steps import analysis_problems

# History events as DESIGN §7 names them; ``action`` keeps the stored name.
EVENT_NAMES = {
    "canary": "canary_started",
    "promote_canary": "canary_promoted",
    "abort_canary": "canary_rolled_back",
    "shadow": "shadow_started",
    "stop_shadow": "shadow_stopped",
}


class DeploymentEventSerializer(serializers.ModelSerializer):
    event = serializers.SerializerMethodField()
    version = serializers.IntegerField(source="version.version", default=None)
    previous_version = serializers.IntegerField(source="previous_version.version", default=None)
    actor = serializers.CharField(source="actor_name")

    class Meta:
        model = DeploymentEvent
        fields = ["event", "action", "version", "previous_version", "actor", "actor_name", "run", "created_at"]

    def get_event(self, event) -> str:
        return EVENT_NAMES.get(event.action, event.action)


class DeploymentSerializer(serializers.ModelSerializer):
    environment = serializers.CharField(source="environment.name")
    model = serializers.CharField(source="model.name")
    primary_version = serializers.IntegerField(source="primary_version.version", default=None)
    canary_version = serializers.IntegerField(source="canary_version.version", default=None)
    shadow_version = serializers.IntegerField(source="shadow_version.version", default=None)

    class Meta:
        model = Deployment
        fields = [
            "environment",
            "model",
            "primary_version",
            "canary_version",
            "canary_percent",
            "shadow_version",
            "updated_at",
            "logs_lost",
        ]


def _deployment(environment, model):
    return get_object_or_404(
        Deployment.objects.select_related(
            "environment", "model", "primary_version", "canary_version", "shadow_version"
        ),
        environment__name=environment,
        model__name=model,
    )


class DeploymentList(APIView):
    @extend_schema(responses=DeploymentSerializer(many=True))
    def get(self, request):
        deployments = Deployment.objects.select_related(
            "environment", "model", "primary_version", "canary_version", "shadow_version"
        ).order_by("environment__name", "model__name")
        return Response(DeploymentSerializer(deployments, many=True).data)


class DeploymentDetail(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("at", str, description="ISO time: what served then, replayed from the history")],
        responses=DeploymentSerializer,
    )
    def get(self, request, environment, model):
        deployment = _deployment(environment, model)
        body = DeploymentSerializer(deployment).data
        at_text = request.query_params.get("at")
        if at_text:
            at = parse_datetime(at_text.replace(" ", "+"))
            if at is None:
                return Response(
                    {"at": [f"'{at_text}' is not an ISO 8601 time such as 2026-11-27T10:00:00Z."]},
                    status=status.HTTP_400_BAD_REQUEST,
                )
            if at.tzinfo is None:
                return Response(
                    {"at": ["Give the time zone (e.g. Z or +01:00): a bare time is ambiguous."]},
                    status=status.HTTP_400_BAD_REQUEST,
                )
            state = engine.state_at(deployment, at)
            body["at"] = {
                "time": at.isoformat(),
                "primary_version": state["primary"].version if state["primary"] else None,
                "canary_version": state["canary"].version if state["canary"] else None,
                "shadow_version": state["shadow"].version if state["shadow"] else None,
            }
        latest = deployment.analyses.select_related("canary_version", "primary_version").first()
        body["analysis"] = canary.describe(latest) if latest else None
        events = deployment.events.select_related("version", "previous_version")[:200]
        body["history"] = DeploymentEventSerializer(events, many=True).data
        return Response(body)


class StartAnalysis(APIView):
    """Judge the canary now serving automatically: the body is a deploy step's ``analysis:`` as JSON."""

    required_roles = {"write": Role.EDITOR}

    @extend_schema(request=dict, responses=dict)
    def post(self, request, environment, model):
        deployment = _deployment(environment, model)
        analysis, problems = analysis_problems(request.data)
        if problems:
            return Response({"analysis": problems}, status=status.HTTP_400_BAD_REQUEST)
        try:
            started = engine.analyse_canary(deployment, analysis, request.user)
        except engine.DeploymentRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(canary.describe(started), status=status.HTTP_201_CREATED)


class _DeploymentAction(APIView):
    required_roles = {"write": Role.EDITOR}
    action_name = ""

    def act(self, deployment, user):  # pragma: no cover - each subclass names its engine call
        raise NotImplementedError

    @extend_schema(request=None, responses=DeploymentSerializer)
    def post(self, request, environment, model):
        deployment = _deployment(environment, model)
        try:
            deployment = self.act(deployment, request.user)
        except engine.DeploymentRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(DeploymentSerializer(_deployment(environment, model)).data)


class Rollback(_DeploymentAction):
    def act(self, deployment, user):
        return engine.rollback(deployment, user)


class PromoteCanary(_DeploymentAction):
    def act(self, deployment, user):
        return engine.promote_canary(deployment, user)


class AbortCanary(_DeploymentAction):
    def act(self, deployment, user):
        return engine.abort_canary(deployment, user)
