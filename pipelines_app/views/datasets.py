"""Datasets: list and upload, one dataset's versions, profile charts, preview and schema."""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Max
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from pipelines_app.forms import DatasetSchemaForm, DatasetUploadForm
from pipelines_app.ml.datasets import DatasetError
from pipelines_app.models import Dataset, DatasetVersion, ModelVersion, Pipeline
from pipelines_app.models.datasets import too_large_message
from pipelines_app.permissions import Role, has_role, role_required

PREVIEW_ROWS = 20
# Columns the page shows in the profile and the preview: every column costs a table row, a chart and its data, so a
# wide file (20,000 columns made a 15 MB page) would cost every viewer; the API's profile has them all.
PAGE_COLUMNS = 100


def _get_version(slug, number=None):
    """The dataset and one of its versions (the latest unless a number is given); 404 on either missing."""
    dataset = get_object_or_404(Dataset, slug=slug)
    versions = dataset.versions.select_related("uploaded_by")
    if number in (None, ""):
        return dataset, versions.first()
    if not str(number).isdigit():
        raise Http404("No such version.")
    return dataset, get_object_or_404(versions, number=int(number))


@role_required(Role.VIEWER)
def dataset_list(request):
    datasets = Dataset.objects.annotate(n_versions=Count("versions"), last_upload=Max("versions__created_at"))
    q = request.GET.get("q", "").strip()
    if q:
        datasets = datasets.filter(slug__icontains=q)
    page = Paginator(datasets.order_by("slug"), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "datasets/list.html",
        {"page": page, "q": q, "form": DatasetUploadForm(), "can_upload": has_role(request.user, Role.EDITOR)},
    )


@require_POST
@role_required(Role.EDITOR)
def dataset_upload(request):
    form = DatasetUploadForm(request.POST, request.FILES)
    status = 400
    if form.is_valid():
        f = form.cleaned_data["file"]
        if f.size > settings.DATASET_MAX_BYTES:
            form.add_error("file", too_large_message(f.size))
            status = 413
        else:
            try:
                version = DatasetVersion.objects.create_from_upload(
                    form.cleaned_data["name"],
                    f.read(),
                    filename=f.name,
                    user=request.user,
                    description=form.cleaned_data["description"],
                )
            except DatasetError as exc:
                form.add_error("file", str(exc))
            else:
                messages.success(
                    request, f"Uploaded {version.ref}: {version.row_count} rows, {version.column_count} columns."
                )
                return redirect(version.dataset)
    datasets = Paginator(
        Dataset.objects.annotate(n_versions=Count("versions"), last_upload=Max("versions__created_at")).order_by(
            "slug"
        ),
        25,
    ).get_page(1)
    return render(request, "datasets/list.html", {"page": datasets, "form": form, "can_upload": True}, status=status)


def _cell(value):
    """A preview cell as the file wrote it: 3 not 3.0, blank for missing."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def pipelines_using(dataset):
    """Active pipelines whose current file ingests this dataset (any version)."""
    using = []
    for pipeline in Pipeline.objects.active().select_related("current_version"):
        spec = pipeline.current_version.spec if pipeline.current_version else {}
        for stage in spec.get("stages", []):
            for step in stage.get("steps", []):
                if step.get("type") == "ingest" and str(step.get("dataset", "")).split("@")[0] == dataset.slug:
                    using.append((pipeline, step.get("dataset")))
    return using


@role_required(Role.VIEWER)
def dataset_detail(request, slug):
    dataset, version = _get_version(slug, request.GET.get("version"))
    return _detail_page(request, dataset, version)


def _detail_page(request, dataset, version, schema_form=None, status=200):
    """The dataset page; after a refused schema form, with that form's errors (its section open) and a 4xx."""
    preview_columns, preview_rows, preview_error = [], [], ""
    if version:
        try:
            frame = version.read_frame().head(PREVIEW_ROWS).iloc[:, :PAGE_COLUMNS]
            preview_columns = list(frame.columns)
            preview_rows = [[_cell(v) for v in row] for row in frame.astype(object).values.tolist()]
        except (DatasetError, OSError) as exc:
            preview_error = f"The stored file could not be read: {exc}"
    can_edit = has_role(request.user, Role.EDITOR)
    profile_columns = dict(list(version.ordered_profile().items())[:PAGE_COLUMNS]) if version else {}
    # A version wider than uploads may now be (stored before the limit) gets no per-column schema form.
    schema_editable = version is not None and can_edit and version.column_count <= settings.DATASET_MAX_COLUMNS
    return render(
        request,
        "datasets/detail.html",
        {
            "dataset": dataset,
            "version": version,
            "versions": dataset.versions.select_related("uploaded_by"),
            "preview_columns": preview_columns,
            "preview_rows": preview_rows,
            "preview_error": preview_error,
            "profile_columns": profile_columns,
            "hidden_columns": max(version.column_count - PAGE_COLUMNS, 0) if version else 0,
            "schema_form": (schema_form or DatasetSchemaForm(version=version)) if schema_editable else None,
            "pipelines": pipelines_using(dataset),
            "model_versions": ModelVersion.objects.filter(dataset_version__dataset=dataset)
            .select_related("model", "dataset_version")
            .order_by("-created_at")[:50],
            "can_edit": can_edit,
        },
        status=status,
    )


@require_POST
@role_required(Role.EDITOR)
def dataset_schema(request, slug, number):
    dataset, version = _get_version(slug, number)
    form = DatasetSchemaForm(request.POST, version=version)
    if form.is_valid():
        try:
            with transaction.atomic():
                version.update_schema(form.cleaned_data["schema"], form.cleaned_data["target"], request.user)
                dataset.describe_columns(form.cleaned_data["descriptions"], request.user)
        except DatasetError as exc:
            messages.error(request, str(exc))
            return _detail_page(request, dataset, version, form, status=400)
        messages.success(request, f"Saved the schema of {version.ref}; the profile was recomputed.")
        return redirect(version.get_absolute_url())
    messages.error(request, "The schema was not saved: see the fields marked below.")
    return _detail_page(request, dataset, version, form, status=400)


@role_required(Role.VIEWER)
def dataset_columns(request, slug):
    """The wizard asks which columns (and target categories) a dataset version has."""
    dataset, version = _get_version(slug, request.GET.get("version"))
    if version is None:
        return JsonResponse({"columns": []})
    profile = version.profile.get("columns_profile", {})
    return JsonResponse(
        {
            "version": version.number,
            "target": version.target,
            "columns": [
                {
                    "name": c,
                    "kind": k,
                    "categories": version.categories(c) if k == "categorical" else [],
                    "distinct": profile.get(c, {}).get("distinct"),
                }
                for c, k in version.ordered_schema().items()
            ],
        }
    )
