"""GET /api/v1/monitoring/<model>/<environment>/summary/?window=24h: what the dashboard shows, as data."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from pipelines_app.models import Deployment
from pipelines_app.monitoring.summary import WindowInvalid, summary


class MonitoringSummary(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("window", str, description="30m, 1h, 24h (default), 7d … up to 90d")],
        responses=dict,
    )
    def get(self, request, model, environment):
        deployment = get_object_or_404(
            Deployment.objects.select_related("environment", "model", "primary_version"),
            model__name=model,
            environment__name=environment,
        )
        try:
            body = summary(deployment, request.query_params.get("window", "24h"))
        except WindowInvalid as exc:
            return Response({"window": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(body)
