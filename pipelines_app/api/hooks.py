"""POST /api/v1/hooks/pipelines/<slug>/: start a run from another system, signed with the pipeline's secret."""

import json

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from pipelines_app.api.runs import RunSerializer
from pipelines_app.engine.runs import start_run
from pipelines_app.engine.triggers import has_trigger, verify_webhook
from pipelines_app.models import Pipeline, Trigger
from pipelines_app.spec.models import InputsInvalid


class RawBodyParser(BaseParser):
    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read() if stream is not None else b""


class PipelineWebhook(APIView):
    """The signature (header X-Signature-256: sha256=<hex HMAC of the body>) is the authentication."""

    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [RawBodyParser]

    @extend_schema(
        request=None,
        responses={201: RunSerializer},
        parameters=[OpenApiParameter("X-Signature-256", str, OpenApiParameter.HEADER, required=True)],
    )
    def post(self, request, slug):
        pipeline = get_object_or_404(Pipeline.objects.select_related("current_version"), slug=slug)
        body = request.body
        if not verify_webhook(
            pipeline, body, request.headers.get("X-Signature-256", ""), request.META.get("REMOTE_ADDR", "")
        ):
            return Response({"detail": "Missing or wrong X-Signature-256."}, status=status.HTTP_403_FORBIDDEN)
        if pipeline.archived or not has_trigger(pipeline, "webhook"):
            return Response(
                {"detail": "This pipeline does not accept webhook triggers."}, status=status.HTTP_409_CONFLICT
            )
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return Response({"detail": "The body must be JSON (or empty)."}, status=status.HTTP_400_BAD_REQUEST)
        inputs = payload.get("inputs", {}) if isinstance(payload, dict) else None
        if not isinstance(inputs, dict):
            return Response({"detail": '"inputs" must be an object.'}, status=status.HTTP_400_BAD_REQUEST)
        try:
            run = start_run(pipeline, None, inputs, Trigger.WEBHOOK)
        except InputsInvalid as exc:
            return Response(
                {"detail": "The runtime inputs do not fit the pipeline.", "inputs": exc.problems},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(RunSerializer(run).data, status=status.HTTP_201_CREATED)
