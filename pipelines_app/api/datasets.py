"""/api/v1/datasets/: list datasets; upload a CSV (multipart: name, file) as a new version."""

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from pipelines_app.ml.datasets import DatasetError
from pipelines_app.models import Dataset, DatasetVersion
from pipelines_app.models.datasets import too_large_message


class DatasetVersionSerializer(serializers.ModelSerializer):
    dataset = serializers.CharField(source="dataset.slug")
    uploaded_by = serializers.CharField(source="uploaded_by.username", default=None)

    class Meta:
        model = DatasetVersion
        fields = [
            "dataset",
            "number",
            "ref",
            "sha256",
            "size_bytes",
            "row_count",
            "column_count",
            "schema",
            "target",
            "original_filename",
            "uploaded_by",
            "created_at",
            "profile",
        ]


class DatasetVersionSummarySerializer(DatasetVersionSerializer):
    class Meta(DatasetVersionSerializer.Meta):
        fields = [f for f in DatasetVersionSerializer.Meta.fields if f != "profile"]


class DatasetSerializer(serializers.ModelSerializer):
    latest_version = serializers.SerializerMethodField()
    version_count = serializers.IntegerField(source="versions.count", read_only=True)

    class Meta:
        model = Dataset
        fields = ["slug", "description", "created_at", "version_count", "latest_version"]

    @extend_schema_field(DatasetVersionSummarySerializer(allow_null=True))
    def get_latest_version(self, dataset):
        version = dataset.latest_version()
        return DatasetVersionSummarySerializer(version).data if version else None


class DatasetUploadSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, help_text="The dataset's slug; a new name creates the dataset.")
    file = serializers.FileField(help_text="A CSV file with a header row.", allow_empty_file=True)
    description = serializers.CharField(required=False, allow_blank=True)


class DatasetViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = DatasetSerializer
    lookup_field = "slug"
    queryset = Dataset.objects.all()
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request=DatasetUploadSerializer, responses={201: DatasetVersionSerializer})
    def create(self, request):
        upload = DatasetUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        f = upload.validated_data["file"]
        if f.size > settings.DATASET_MAX_BYTES:
            return Response(
                {"detail": too_large_message(f.size), "file": [too_large_message(f.size)]},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        try:
            version = DatasetVersion.objects.create_from_upload(
                upload.validated_data["name"],
                f.read(),
                filename=f.name or "",
                user=request.user,
                description=upload.validated_data.get("description", ""),
            )
        except DatasetError as exc:
            return Response({"detail": str(exc), "file": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(DatasetVersionSerializer(version).data, status=status.HTTP_201_CREATED)
