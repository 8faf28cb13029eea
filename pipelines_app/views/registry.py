"""The model registry: models, their versions with metrics and lineage, curves, download, compare."""

from django.core.paginator import Paginator
from django.db.models import Count, Max
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render

from pipelines_app.models import RegisteredModel
from pipelines_app.permissions import Role, has_role, role_required

KEY_METRICS = ["roc_auc", "pr_auc", "accuracy", "f1", "log_loss", "demographic_parity_difference", "rmse", "r2"]


@role_required(Role.VIEWER)
def model_list(request):
    models = RegisteredModel.objects.annotate(n_versions=Count("versions"), last=Max("versions__created_at"))
    page = Paginator(models.order_by("name"), 25).get_page(request.GET.get("page"))
    return render(request, "registry/list.html", {"page": page})


def _versions(name):
    model = get_object_or_404(RegisteredModel, name=name)
    return model, model.versions.select_related("run", "dataset_version__dataset", "pipeline_version__pipeline")


@role_required(Role.VIEWER)
def model_detail(request, name):
    model, versions = _versions(name)
    versions = list(versions)
    metrics = [m for m in KEY_METRICS if any(m in v.metrics for v in versions)]
    chart = {
        "versions": [v.version for v in reversed(versions)],
        "series": {m: [v.metrics.get(m) for v in reversed(versions)] for m in metrics},
    }
    return render(
        request, "registry/model.html", {"model": model, "versions": versions, "metrics": metrics, "chart": chart}
    )


@role_required(Role.VIEWER)
def model_version(request, name, version):
    model, versions = _versions(name)
    current = get_object_or_404(versions, version=version)
    if request.GET.get("download"):
        if not has_role(request.user, Role.EDITOR):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied("Downloading a model needs the editor role.")
        if not current.artifact:
            raise Http404("This version has no stored artifact.")
        return FileResponse(
            current.artifact.open("rb"), as_attachment=True, filename=f"{model.name}-v{current.version}.skops"
        )
    other = None
    if request.GET.get("compare", "").isdigit():
        other = versions.filter(version=int(request.GET["compare"])).first()
    rows = sorted(set(current.metrics) | set(other.metrics if other else {}))
    comparison = [
        {"metric": m, "this": current.metrics.get(m), "other": other.metrics.get(m) if other else None}
        for m in rows
        if not isinstance(current.metrics.get(m), dict | list)
    ]
    return render(
        request,
        "registry/version.html",
        {
            "model": model,
            "v": current,
            "other": other,
            "comparison": comparison,
            "versions": versions,
            "can_download": has_role(request.user, Role.EDITOR),
            "evaluation": current.evaluation,
        },
    )
