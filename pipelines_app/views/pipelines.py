"""Pipelines: the list, the YAML editor, the wizard, templates, versions and their diff."""

import difflib

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import Group
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_POST

from pipelines_app.authoring import ESTIMATORS, TEMPLATES, wizard_yaml
from pipelines_app.forms import PipelineFileForm, PipelineWizardForm
from pipelines_app.models import Dataset, Pipeline, PipelineVersion
from pipelines_app.models.pipelines import PipelineExists, spec_context
from pipelines_app.permissions import Role, has_role, role_required
from pipelines_app.spec import PipelineSpec, SpecInvalid, parse_pipeline
from pipelines_app.steps.registry import step_types


def run_history(pipeline, limit=30):
    """Durations and key metrics of the last finished runs, oldest first, for the pipeline page's chart."""
    runs = (
        pipeline.runs.filter(finished_at__isnull=False, started_at__isnull=False)
        .select_related("model_version")
        .order_by("-id")[:limit]
    )
    points = []
    for run in reversed(list(runs)):
        metrics = run.model_version.metrics if run.model_version else {}
        points.append(
            {
                "run": run.pk,
                "status": run.status,
                "duration_s": run.duration.total_seconds(),
                "roc_auc": metrics.get("roc_auc"),
                "r2": metrics.get("r2"),
            }
        )
    return points


def _get_pipeline(slug):
    return get_object_or_404(Pipeline.objects.select_related("owner", "current_version"), slug=slug)


def _version_number(value):
    if value in (None, ""):
        return None
    if not str(value).isdigit():
        raise Http404("No such version.")
    return int(value)


@role_required(Role.VIEWER)
def pipeline_list(request):
    pipelines = Pipeline.objects.select_related("owner", "current_version")
    show_archived = request.GET.get("archived") == "1"
    if not show_archived:
        pipelines = pipelines.active()
    q = request.GET.get("q", "").strip()
    pipelines = pipelines.search(q)
    page = Paginator(pipelines.order_by("name"), 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "pipelines/list.html",
        {
            "page": page,
            "q": q,
            "show_archived": show_archived,
            "query": query.urlencode(),
            "can_edit": has_role(request.user, Role.EDITOR),
            "templates": TEMPLATES.values(),
        },
    )


@role_required(Role.EDITOR)
def pipeline_new(request):
    return render(request, "pipelines/new.html", {"templates": TEMPLATES.values()})


def _graph_html(graph):
    return render_to_string("pipelines/partials/graph.html", {"graph": graph})


def _editor(request, form, pipeline=None, status=200, errors=()):
    context = {"form": form, "pipeline": pipeline, "errors": errors, "step_types": step_types().values()}
    return render(request, "pipelines/editor.html", context, status=status)


@role_required(Role.EDITOR)
def pipeline_create(request):
    """The YAML editor for a new pipeline: blank, from a template, or from the wizard."""
    if request.method == "POST":
        form = PipelineFileForm(request.POST)
        if form.is_valid():
            try:
                pipeline = Pipeline.objects.create_from_yaml(
                    form.cleaned_data["yaml"], request.user, note=form.cleaned_data["note"] or "Created"
                )
            except SpecInvalid as exc:
                return _editor(request, form, status=400, errors=exc.errors)
            except PipelineExists as exc:
                form.add_error(None, str(exc))
                return _editor(request, form, status=409)
            messages.success(request, f"Created pipeline {pipeline.name} (version 1).")
            return redirect(pipeline)
        return _editor(request, form, status=400)
    template = TEMPLATES.get(request.GET.get("template", ""))
    initial = template.text() if template else "version: 1\nname: \nmodel: \nstages:\n  - name: data\n    steps:\n"
    return _editor(request, PipelineFileForm(initial={"yaml": initial}))


@role_required(Role.EDITOR)
def pipeline_edit(request, slug):
    pipeline = _get_pipeline(slug)
    if request.method == "POST":
        form = PipelineFileForm(request.POST)
        if form.is_valid():
            try:
                version = pipeline.save_version(form.cleaned_data["yaml"], request.user, note=form.cleaned_data["note"])
            except SpecInvalid as exc:
                return _editor(request, form, pipeline, status=400, errors=exc.errors)
            messages.success(request, f"Saved version {version.number}.")
            return redirect(pipeline)
        return _editor(request, form, pipeline, status=400)
    text = pipeline.current_version.yaml_text if pipeline.current_version else ""
    return _editor(request, PipelineFileForm(initial={"yaml": text}), pipeline)


@require_POST
@role_required(Role.EDITOR)
def pipeline_validate(request):
    """The editor's live check: the errors at their lines and the stage graph, as JSON."""
    text = request.POST.get("yaml", "")
    try:
        spec = parse_pipeline(text, spec_context())
    except SpecInvalid as exc:
        return JsonResponse({"valid": False, "errors": [e.as_dict() for e in exc.errors]})
    return JsonResponse({"valid": True, "errors": [], "graph_html": _graph_html(spec.graph())})


@role_required(Role.VIEWER)
def pipeline_detail(request, slug):
    pipeline = _get_pipeline(slug)
    versions = pipeline.versions.select_related("author")
    number = _version_number(request.GET.get("version"))
    version = get_object_or_404(versions, number=number) if number else pipeline.current_version
    graph = PipelineSpec.model_validate(version.spec).graph() if version else None
    return render(
        request,
        "pipelines/detail.html",
        {
            "pipeline": pipeline,
            "version": version,
            "versions": versions,
            "graph": graph,
            "runs": pipeline.runs.select_related("pipeline_version", "model_version__model")[:10],
            "history": run_history(pipeline),
            "can_edit": has_role(request.user, Role.EDITOR),
            "grace_hours": settings.WEBHOOK_SECRET_GRACE_HOURS,
        },
    )


@role_required(Role.VIEWER)
def pipeline_diff(request, slug):
    pipeline = _get_pipeline(slug)
    numbers = [_version_number(request.GET.get(k)) for k in ("a", "b")]
    if None in numbers:
        current = pipeline.current_version.number if pipeline.current_version else 1
        numbers = [max(current - 1, 1), current]
    a, b = (get_object_or_404(PipelineVersion, pipeline=pipeline, number=n) for n in numbers)
    table = difflib.HtmlDiff(wrapcolumn=80).make_table(
        a.yaml_text.splitlines(),
        b.yaml_text.splitlines(),
        f"version {a.number}",
        f"version {b.number}",
        context=request.GET.get("full") != "1",
        numlines=3,
    )
    return render(
        request,
        "pipelines/diff.html",
        {
            "pipeline": pipeline,
            "a": a,
            "b": b,
            "table": table,
            "same": a.yaml_text == b.yaml_text,
            "versions": pipeline.versions.all(),
        },
    )


@require_POST
@role_required(Role.EDITOR)
def pipeline_archive(request, slug):
    pipeline = _get_pipeline(slug)
    if pipeline.archived:
        pipeline.restore(request.user)
        messages.success(request, f"Restored {pipeline.name}.")
    else:
        pipeline.archive(request.user)
        messages.success(request, f"Archived {pipeline.name}. It keeps its versions and runs; restore it any time.")
    return redirect(pipeline)


@require_POST
@role_required(Role.EDITOR)
def pipeline_webhook_rotate(request, slug):
    """A new webhook secret; the old one keeps working for WEBHOOK_SECRET_GRACE_HOURS while senders switch."""
    pipeline = _get_pipeline(slug)
    pipeline.rotate_webhook_secret(request.user)
    if pipeline.previous_webhook_secret_valid():
        until = timezone.localtime(pipeline.previous_webhook_secret_until)
        messages.success(
            request, f"New webhook secret made. The old one keeps working until {until:%Y-%m-%d %H:%M %Z}."
        )
    else:
        messages.success(request, "New webhook secret made. The old one no longer works.")
    return redirect(pipeline.get_absolute_url() + "#webhook")


def _wizard_form(request, data=None):
    datasets = list(Dataset.objects.order_by("slug").values_list("slug", flat=True))
    chosen = (data or request.GET).get("dataset") or (datasets[0] if datasets else None)
    dataset = Dataset.objects.filter(slug=chosen).first()
    version = dataset.latest_version() if dataset else None
    columns = version.columns() if version else []
    groups = list(Group.objects.order_by("name").values_list("name", flat=True))
    initial = {"dataset": chosen, "target": version.target if version else ""}
    form = PipelineWizardForm(data, datasets=datasets, groups=groups, columns=columns, initial=initial)
    return form, version


@role_required(Role.EDITOR)
def pipeline_wizard(request):
    form, version = _wizard_form(request, request.POST if request.method == "POST" else None)
    context = {
        "form": form,
        "dataset_version": version,
        "estimators": ESTIMATORS.values(),
        "columns": (
            [{"name": c, "kind": k, "categories": version.categories(c)} for c, k in version.ordered_schema().items()]
            if version
            else []
        ),
    }
    if request.method != "POST":
        return render(request, "pipelines/wizard.html", context)
    if not form.is_valid():
        return render(request, "pipelines/wizard.html", context, status=400)
    text = wizard_yaml(form.cleaned_data)
    if request.POST.get("then") == "edit":
        return _editor(request, PipelineFileForm(initial={"yaml": text}))
    try:
        pipeline = Pipeline.objects.create_from_yaml(text, request.user, note="Created with the wizard")
    except (SpecInvalid, PipelineExists) as exc:
        errors = getattr(exc, "errors", None) or [str(exc)]
        for error in errors:
            form.add_error(None, str(error))
        return render(request, "pipelines/wizard.html", context, status=400)
    messages.success(request, f"Created pipeline {pipeline.name}. Edit its file any time.")
    return redirect(pipeline)
