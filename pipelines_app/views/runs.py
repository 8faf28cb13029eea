"""Runs: the list with filters, the live run view, cancel and re-run, and starting a run with its inputs."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from pipelines_app.engine import runs as engine
from pipelines_app.models import Pipeline, PipelineRun, RunStatus, SearchTrial, Trigger
from pipelines_app.models.runs import PipelineRunQuerySet
from pipelines_app.permissions import Role, has_role, role_required
from pipelines_app.spec import PipelineSpec
from pipelines_app.spec.models import InputsInvalid


def _get_run(pk):
    return get_object_or_404(
        PipelineRun.objects.select_related("pipeline", "pipeline_version", "triggered_by", "model_version__model"),
        pk=pk,
    )


@role_required(Role.VIEWER)
def run_list(request):
    runs = PipelineRun.objects.select_related("pipeline", "pipeline_version", "triggered_by", "model_version__model")
    filters = {param: request.GET.get(param, "") for param in PipelineRunQuerySet.FILTERS}
    runs = runs.filtered(request.GET)
    page = Paginator(runs.order_by("-id"), 30).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "runs/list.html",
        {
            "page": page,
            "filters": filters,
            "query": query.urlencode(),
            "statuses": RunStatus.choices,
            "triggers": Trigger.choices,
            "pipelines": Pipeline.objects.order_by("name").values_list("slug", flat=True),
        },
    )


def search_context(trials):
    """A search's trials for a page (the run's, or the model version's): the table, the best, and the chart's
    points (trial number, score, status, the parameters as text)."""
    if not trials:
        return {"trials": []}
    scored = [t for t in trials if t.score is not None]
    best = max(scored, key=lambda t: (t.score, -t.number)) if scored else None
    points = [
        {"trial": t.number, "score": t.score, "status": t.status, "best": t is best, "worker": t.worker_host,
         "params": ", ".join(f"{k}={v}" for k, v in sorted(t.params.items()))}
        for t in trials
    ]  # fmt: skip
    done = sum(1 for t in trials if t.finished)
    return {"trials": trials, "best_trial": best, "trials_done": done, "trial_points": points}


def _run_context(request, run):
    steps = list(run.steps.order_by("position"))
    stages = []
    for step in steps:
        if not stages or stages[-1]["index"] != step.stage_index:
            stages.append({"index": step.stage_index, "name": step.stage_name, "parallel": step.parallel, "steps": []})
        stages[-1]["steps"].append(step)
    timeline = [
        {
            "name": s.name,
            "start": s.started_at.isoformat(),
            "end": (s.finished_at or s.heartbeat_at or s.started_at).isoformat(),
            "status": s.status,
        }
        for s in steps
        if s.started_at
    ]
    trials = list(SearchTrial.objects.filter(step_run__run=run).select_related("step_run"))
    return {
        "run": run,
        "steps": steps,
        **search_context(trials),
        "stages": stages,
        "timeline": timeline,
        "can_edit": has_role(request.user, Role.EDITOR),
        # Refused and failed calls too: a webhook that never arrived is otherwise only in a worker's log.
        "deliveries": run.deliveries.all()[:20],
    }


@role_required(Role.VIEWER)
def run_detail(request, pk):
    run = _get_run(pk)
    return render(request, "runs/detail.html", _run_context(request, run))


@role_required(Role.VIEWER)
def run_live(request, pk):
    """The live part of the run page, polled while the run is not finished."""
    run = _get_run(pk)
    response = render(request, "runs/partials/live.html", _run_context(request, run))
    if run.finished:
        response["HX-Trigger"] = "run-finished"
    return response


@require_POST
@role_required(Role.EDITOR)
def run_cancel(request, pk):
    run = _get_run(pk)
    if engine.cancel(run, request.user):
        messages.success(request, f"Cancelled run {run.pk}.")
    else:
        messages.info(request, f"Run {run.pk} had already finished.")
    return redirect(run)


@require_POST
@role_required(Role.EDITOR)
def run_rerun(request, pk):
    new = engine.rerun(_get_run(pk), request.user)
    messages.success(request, f"Started run {new.pk} with the same pipeline version and inputs.")
    return redirect(new)


def inputs_form(spec, data=None):
    """A form generated from the pipeline's ``inputs:``: types, defaults and bounds."""
    fields = {}
    for name, item in spec.inputs.items():
        kind = item.type
        common = {"required": False, "initial": item.default, "help_text": item.description or "", "label": name}
        if item.choices:
            fields[name] = forms.ChoiceField(choices=[(c, c) for c in item.choices], **common)
        elif kind == "integer":
            fields[name] = forms.IntegerField(min_value=item.min, max_value=item.max, **common)
        elif kind == "number":
            fields[name] = forms.FloatField(min_value=item.min, max_value=item.max, **common)
        elif kind == "boolean":
            fields[name] = forms.BooleanField(**common)
        else:
            fields[name] = forms.CharField(**common)
    return type("RunInputsForm", (forms.Form,), fields)(data)


@role_required(Role.EDITOR)
def pipeline_run(request, slug):
    pipeline = get_object_or_404(Pipeline.objects.select_related("current_version"), slug=slug)
    spec = PipelineSpec.model_validate(pipeline.current_version.spec)
    form = inputs_form(spec, request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if pipeline.archived:
            messages.error(request, "This pipeline is archived; restore it to run it.")
            return redirect(pipeline)
        if form.is_valid():
            given = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
            try:
                run = engine.start_run(pipeline, request.user, given)
            except InputsInvalid as exc:
                for name, problem in exc.problems.items():
                    form.add_error(name if name in form.fields else None, problem)
            else:
                messages.success(request, f"Started run {run.pk}.")
                return redirect(run)
        status = 400
    return render(request, "runs/start.html", {"pipeline": pipeline, "form": form}, status=status)
