"""GET /api/v1/predictions/<request_id>/: one scored row with its inputs, answer, version, reasons and label."""

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from pipelines_app.serving.decisions import decision


class PredictionDetail(APIView):
    @extend_schema(responses=dict)
    def get(self, request, request_id):
        found = decision(request_id)
        if found is None:
            raise NotFound(f"No answered request has the row id '{request_id[:80]}'.")
        found.pop("version_url")
        return Response(found)
