"""/api/v1/pipelines/: the pipeline file is the body (YAML) or JSON {"yaml": "..."}."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from pipelines_app.api.parsers import (
    BoundedJSONParser,
    PipelineFileParser,
    PlainTextParser,
    TextYAMLParser,
    XYAMLParser,
)
from pipelines_app.api.runs import RunSerializer, StartRunSerializer, start_run_response
from pipelines_app.models import Pipeline, PipelineVersion
from pipelines_app.models.pipelines import PipelineExists, spec_context
from pipelines_app.spec import SpecInvalid, parse_pipeline


class PipelineVersionSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", default=None)

    class Meta:
        model = PipelineVersion
        fields = ["number", "author", "note", "created_at", "yaml_text", "spec"]


class PipelineSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", default=None)
    current_version = serializers.IntegerField(source="current_version.number", default=None)
    model = serializers.CharField(source="model_name")
    triggers = serializers.ListField(child=serializers.CharField(), read_only=True)
    yaml = serializers.CharField(source="current_version.yaml_text", default="")
    archived = serializers.BooleanField(read_only=True)

    class Meta:
        model = Pipeline
        fields = [
            "slug",
            "name",
            "description",
            "model",
            "owner",
            "current_version",
            "triggers",
            "archived",
            "created_at",
            "updated_at",
            "yaml",
        ]


class PipelineFileSerializer(serializers.Serializer):
    yaml = serializers.CharField(
        trim_whitespace=False, allow_blank=True, help_text="The pipeline file (version 1), as YAML text."
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=300)


def spec_errors_response(exc):
    errors = [e.as_dict() for e in exc.errors]
    n = len(errors)
    return Response(
        {"detail": f"The pipeline file has {n} error{'s' if n != 1 else ''}.", "errors": errors},
        status=status.HTTP_400_BAD_REQUEST,
    )


class SpecErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    column = serializers.IntegerField()
    message = serializers.CharField()
    path = serializers.CharField()


class ValidationResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    errors = SpecErrorSerializer(many=True)
    graph = serializers.JSONField(allow_null=True, help_text="The stages and their steps, when the file is valid.")


class PipelineViewSet(viewsets.ModelViewSet):
    """List, create (POST a pipeline file), read, save a new version (PUT), archive (DELETE)."""

    serializer_class = PipelineSerializer
    lookup_field = "slug"
    parser_classes = [PipelineFileParser, TextYAMLParser, XYAMLParser, PlainTextParser, BoundedJSONParser]
    http_method_names = ["get", "post", "put", "delete", "head", "options"]

    def get_queryset(self):
        pipelines = Pipeline.objects.select_related("owner", "current_version")
        if self.action == "list":
            if self.request.query_params.get("archived") not in ("1", "true", "yes"):
                pipelines = pipelines.active()
            pipelines = pipelines.search(self.request.query_params.get("q"))
        return pipelines

    def _file(self, request):
        serializer = PipelineFileSerializer(data=request.data)
        if not serializer.is_valid():
            raise ValidationError(
                {
                    "detail": "Send the pipeline file as the body (Content-Type: application/yaml) "
                    'or as JSON {"yaml": "..."}.',
                    **serializer.errors,
                }
            )
        return serializer.validated_data["yaml"], serializer.validated_data.get("note", "")

    @extend_schema(request=PipelineFileSerializer, responses={201: PipelineSerializer})
    def create(self, request):
        text, note = self._file(request)
        try:
            pipeline = Pipeline.objects.create_from_yaml(text, request.user, note=note or "Created")
        except SpecInvalid as exc:
            return spec_errors_response(exc)
        except PipelineExists as exc:
            return Response({"detail": str(exc), "slug": exc.slug}, status=status.HTTP_409_CONFLICT)
        return Response(PipelineSerializer(pipeline).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PipelineFileSerializer, responses={200: PipelineSerializer})
    def update(self, request, slug=None):
        pipeline = self.get_object()
        text, note = self._file(request)
        try:
            pipeline.save_version(text, request.user, note=note)
        except SpecInvalid as exc:
            return spec_errors_response(exc)
        return Response(PipelineSerializer(pipeline).data)

    def destroy(self, request, slug=None):
        pipeline = self.get_object()
        if not pipeline.archived:
            pipeline.archive(request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=StartRunSerializer, responses={201: RunSerializer})
    @action(detail=True, methods=["post"])
    def runs(self, request, slug=None):
        """Start a run with runtime inputs: {"inputs": {...}}."""
        return start_run_response(self.get_object(), request)

    @extend_schema(responses={200: PipelineVersionSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def versions(self, request, slug=None):
        pipeline = self.get_object()
        page = self.paginate_queryset(pipeline.versions.select_related("author"))
        return self.get_paginated_response(PipelineVersionSerializer(page, many=True).data)

    @extend_schema(
        request=PipelineFileSerializer,
        responses={200: ValidationResultSerializer},
        parameters=[OpenApiParameter("slug", exclude=True)],
    )
    @action(detail=False, methods=["post"])
    def validate(self, request):
        """Check a pipeline file without saving it: the errors with their lines, and the stage graph."""
        text, _ = self._file(request)
        try:
            spec = parse_pipeline(text, spec_context())
        except SpecInvalid as exc:
            return Response({"valid": False, "errors": [e.as_dict() for e in exc.errors], "graph": None})
        return Response({"valid": True, "errors": [], "graph": spec.graph()})
