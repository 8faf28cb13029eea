"""POST /api/v1/hooks/pipelines/<slug>/: start a run from another system, signed with the pipeline's secret."""

import json

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from mlops_site.client_address import client_address
from pipelines_app.api.runs import RunSerializer
from pipelines_app.engine.runs import start_run
from pipelines_app.engine.triggers import WebhookRefused, has_trigger, verify_webhook
from pipelines_app.models import Trigger
from pipelines_app.spec.models import InputsInvalid

SIGNING = (
    "The body is signed with the pipeline's webhook secret (shown to editors on the pipeline's page). "
    "Recommended: `X-Signature-Timestamp: <unix seconds>` and `X-Signature-256: sha256=<hex HMAC-SHA256 of "
    '"<timestamp>." + body>`, accepted within 5 minutes of the server\'s clock and once only. Without the '
    "timestamp header the HMAC covers the body alone and the same delivery can be replayed. An unknown pipeline "
    "and a wrong signature get the same 403; too many refused deliveries from one address or for one pipeline "
    "in a minute get 429 with Retry-After."
)


class RawBodyParser(BaseParser):
    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read() if stream is not None else b""


class PipelineWebhook(APIView):
    """The signature (X-Signature-256, optionally with X-Signature-Timestamp) is the authentication."""

    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [RawBodyParser]

    @extend_schema(
        request=None,
        description=SIGNING,
        responses={
            201: RunSerializer,
            403: OpenApiResponse(description="Missing, wrong, stale or replayed signature, or no such pipeline."),
            429: OpenApiResponse(description="Too many refused deliveries; the Retry-After header says when to retry."),
        },
        parameters=[
            OpenApiParameter(
                "X-Signature-256", str, OpenApiParameter.HEADER, required=True, description="sha256=<hex HMAC>"
            ),
            OpenApiParameter(
                "X-Signature-Timestamp",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description='Unix seconds; when present the HMAC covers "<timestamp>." + body.',
            ),
        ],
    )
    def post(self, request, slug):
        body = request.body
        try:
            pipeline = verify_webhook(
                slug,
                body,
                request.headers.get("X-Signature-256", ""),
                request.headers.get("X-Signature-Timestamp", ""),
                client_address(request),
            )
        except WebhookRefused as exc:
            if exc.retry_after:
                return Response(
                    {"detail": exc.detail},
                    status=status.HTTP_429_TOO_MANY_REQUESTS,
                    headers={"Retry-After": str(exc.retry_after)},
                )
            return Response({"detail": exc.detail}, status=status.HTTP_403_FORBIDDEN)
        if pipeline.archived or not has_trigger(pipeline, "webhook"):
            return Response(
                {"detail": "This pipeline does not accept webhook triggers."}, status=status.HTTP_409_CONFLICT
            )
        try:
            payload = json.loads(body or b"{}")
        except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
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
