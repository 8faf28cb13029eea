"""POST /api/v1/feedback/: ground-truth labels for scored requests, joined by request id.

A label names its row by the server's id (``X-Request-ID`` / ``request_ids`` of the answer) or by the caller's
own ``X-Request-ID``; either way it is stored under the server's row id, so that the same row labelled twice
keeps one label.
"""

import logging

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from pipelines_app.models import Feedback, PredictionLog
from pipelines_app.serving import prediction_log

log = logging.getLogger(__name__)
MAX_ITEMS = 10_000


class FeedbackItemSerializer(serializers.Serializer):
    request_id = serializers.CharField(
        max_length=80,
        help_text="The row's id from the answer, or the X-Request-ID the caller sent (<id>-<row> in a batch).",
    )
    label = serializers.JSONField()

    def validate_label(self, value):
        if value is None or isinstance(value, dict | list):
            raise serializers.ValidationError("A label is one value: the true class or number.")
        return value


class FeedbackResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    unknown = serializers.ListField(child=serializers.CharField())
    problems = serializers.ListField(child=serializers.DictField())


class FeedbackView(APIView):
    @extend_schema(request=FeedbackItemSerializer(many=True), responses=FeedbackResultSerializer)
    def post(self, request):
        items = request.data if isinstance(request.data, list) else [request.data]
        if not items or len(items) > MAX_ITEMS:
            return Response(
                {"detail": f"Send one label or a list of 1 to {MAX_ITEMS} labels."}, status=status.HTTP_400_BAD_REQUEST
            )
        valid, problems = {}, []
        for index, item in enumerate(items):
            serializer = FeedbackItemSerializer(data=item if isinstance(item, dict) else {})
            if serializer.is_valid():
                valid[serializer.validated_data["request_id"]] = serializer.validated_data["label"]
            else:
                problems.append({"item": index, "errors": serializer.errors})
        if not valid:
            return Response(
                {"detail": "No label could be read.", "problems": problems}, status=status.HTTP_400_BAD_REQUEST
            )
        # Labels often follow their predictions within seconds: move the buffer in first so they are known.
        try:
            prediction_log.drain()
        except Exception:  # noqa: BLE001  (the buffer being down only means recent requests may be reported unknown)
            log.warning("could not drain the prediction log before joining feedback", exc_info=True)
        found = PredictionLog.objects.find_rows(list(valid))
        with transaction.atomic():
            for given_id, (log_row, index) in found.items():
                Feedback.objects.update_or_create(
                    request_id=log_row.row_id(index),
                    defaults={
                        "label": valid[given_id],
                        "prediction_log": log_row,
                        "row": index,
                        "created_by": request.user,
                    },
                )
        known = set(found)
        unknown = [request_id for request_id in valid if request_id not in known]
        return Response({"accepted": len(known), "unknown": unknown, "problems": problems})
