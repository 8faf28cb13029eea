"""Deployments: what serves where, with live rates, history, rollback and canary controls; and the environments
with their protection rules (admins manage them)."""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from pipelines_app.engine.deployments import (
    DeploymentRefused,
    abort_canary,
    analyse_canary,
    promote_canary,
    rollback,
    rollback_target,
    stop_shadow,
)
from pipelines_app.forms import CanaryAnalysisForm
from pipelines_app.models import AuditEvent, Deployment, DeploymentEvent, Environment, PredictionLog
from pipelines_app.models.protection import environment_timeout
from pipelines_app.monitoring import canary
from pipelines_app.permissions import Role, has_role, role_required

RATE_WINDOW = timedelta(minutes=5)


def live_rates(deployment_ids):
    """Requests per minute and the share refused over the last five minutes, per deployment (shadows aside)."""
    since = timezone.now() - RATE_WINDOW
    counts = (
        PredictionLog.objects.filter(deployment_id__in=deployment_ids, created_at__gte=since)
        .exclude(role=PredictionLog.Role.SHADOW)
        .values("deployment_id")
        .annotate(n=Count("id"), errors=Count("id", filter=Q(status_code__gte=400)))
    )
    minutes = RATE_WINDOW.total_seconds() / 60
    return {
        row["deployment_id"]: {"per_minute": row["n"] / minutes, "error_rate": row["errors"] / row["n"]}
        for row in counts
    }


def _get_deployment(environment, model):
    return get_object_or_404(
        Deployment.objects.select_related(
            "environment", "model", "primary_version", "canary_version", "shadow_version"
        ),
        environment__name=environment,
        model__name=model,
    )


@role_required(Role.VIEWER)
def deployment_detail(request, environment, model):
    return _detail_page(request, _get_deployment(environment, model))


def _detail_page(request, deployment, status=200, analysis_form=None):
    """The deployment page; after a refused action, with its reason and a 4xx status."""
    latest_analysis = deployment.analyses.select_related("canary_version", "primary_version").first()
    events = list(deployment.events.select_related("version", "previous_version", "run")[:200])
    notes = deployment.deploy_notes()
    for event in events:
        event.note = notes.get((event.version.version if event.version else None, event.run_id), "")
    # Why the primary serves whole when a canary was asked for: the note of the latest change, when that change
    # is the deploy that put the primary there (after a rollback the old note no longer explains anything).
    latest = events[0] if events else None
    why_no_canary = (
        latest.note
        if latest
        and latest.action == "deploy"
        and not deployment.canary_version_id
        and latest.version_id == deployment.primary_version_id
        else ""
    )
    timeline = [
        {
            "t": e.created_at.isoformat(),
            "action": e.action,
            "version": e.version.version if e.version else None,
            "actor": e.actor_name,
        }
        for e in reversed(events)
    ]
    return render(
        request,
        "deployments/detail.html",
        {
            "deployment": deployment,
            "events": events,
            "timeline": timeline,
            "rates": live_rates([deployment.pk]).get(deployment.pk),
            "can_change": has_role(request.user, Role.EDITOR),
            "rollback_to": rollback_target(deployment),
            "why_no_canary": why_no_canary,
            **_analysis_context(latest_analysis),
            "analysis_form": analysis_form or CanaryAnalysisForm(),
            "serve_url": f"/serve/{deployment.model.name}/{deployment.environment.name}/invocations",
        },
        status=status,
    )


# How an analysis's status reads as the site's one status badge (runs/partials/status.html).
ANALYSIS_BADGES = {"running": "running", "passed": "succeeded", "failed": "failed", "held": "waiting_approval",
                   "cancelled": "cancelled"}  # fmt: skip


def _analysis_context(analysis):
    """The latest analysis for the page: its description, badge and what its chart draws (each checked metric,
    both arms and the limit)."""
    if analysis is None:
        return {"analysis": None}
    described = canary.describe(analysis)
    chart = {"status": described["status"], "metrics": described["checks"]}  # the checks, as the table shows them
    return {"analysis": described, "analysis_badge": ANALYSIS_BADGES[described["status"]], "analysis_chart": chart}


ACTIONS = {
    "rollback": (rollback, "Rolled back: v{primary} serves again."),
    "promote-canary": (promote_canary, "The canary is now the primary: v{primary} takes all traffic."),
    "abort-canary": (abort_canary, "Canary aborted: v{primary} takes all traffic."),
    "stop-shadow": (stop_shadow, "The shadow version no longer scores a copy of the traffic."),
}


@require_POST
@role_required(Role.EDITOR)
def deployment_action(request, environment, model, action):
    deployment = _get_deployment(environment, model)
    if action not in ACTIONS:
        raise Http404("No such deployment action.")
    change, done = ACTIONS[action]
    try:
        deployment = change(deployment, request.user)
    except DeploymentRefused as exc:
        messages.error(request, str(exc))
        return _detail_page(request, _get_deployment(environment, model), status=409)
    messages.success(
        request, done.format(primary=deployment.primary_version.version if deployment.primary_version else "—")
    )
    return redirect("deployment-detail", environment, model)


@require_POST
@role_required(Role.EDITOR)
def deployment_analysis(request, environment, model):
    """Start judging the canary automatically, as a deploy step's ``analysis:`` would have."""
    deployment = _get_deployment(environment, model)
    form = CanaryAnalysisForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, deployment, status=400, analysis_form=form)
    try:
        analyse_canary(deployment, form.cleaned_data["analysis"], request.user)
    except DeploymentRefused as exc:
        messages.error(request, str(exc))
        return _detail_page(request, _get_deployment(environment, model), status=409, analysis_form=form)
    messages.success(
        request,
        f"Analysis started: the canary is judged once each arm has {form.cleaned_data['min_requests']} requests.",
    )
    return redirect("deployment-detail", environment, model)


@role_required(Role.VIEWER)
def deployment_list(request):
    latest = DeploymentEvent.objects.filter(deployment=OuterRef("pk")).order_by("-created_at", "-id")
    deployments = (
        Deployment.objects.select_related("environment", "model", "primary_version", "canary_version", "shadow_version")
        .annotate(since=Subquery(latest.values("created_at")[:1]), since_by=Subquery(latest.values("actor_name")[:1]))
        .order_by("environment__name", "model__name")
    )
    deployments = list(deployments)
    rates = live_rates([d.pk for d in deployments])
    for deployment in deployments:
        deployment.rates = rates.get(deployment.pk)
    return render(
        request, "deployments/list.html", {"deployments": deployments, "environments": Environment.objects.all()}
    )


class EnvironmentForm(forms.ModelForm):
    approver_groups = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Members of these groups may approve deploys here. None: the environment is open.",
    )

    class Meta:
        model = Environment
        fields = [
            "name",
            "description",
            "approver_groups",
            "min_approvals",
            "approval_timeout_hours",
            "on_timeout",
            "public",
            "ignore_unknown_columns",
        ]
        help_texts = {
            "name": "Letters, digits, - and _; pipelines name it in their deploy steps. It cannot change later.",
            "min_approvals": "Distinct approvers a deploy needs (0 with no groups: open).",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["approver_groups"].choices = [
            (g, g) for g in Group.objects.order_by("name").values_list("name", flat=True)
        ]
        self.fields["approval_timeout_hours"].min_value = 1
        if self.instance.pk:
            self.fields["name"].disabled = True

    def clean_name(self):
        name = self.cleaned_data["name"]
        if name in ("environments", "new"):
            raise forms.ValidationError(f"'{name}' is a page of this site; choose another name.")
        return name

    def clean(self):
        data = super().clean()
        groups, needed = data.get("approver_groups") or [], data.get("min_approvals")
        if groups and not needed:
            self.add_error("min_approvals", "With approver groups, at least one approval is needed.")
        if needed and not groups:
            self.add_error("approver_groups", "Name the groups whose members approve, or set min approvals to 0.")
        if groups and needed and data.get("on_timeout") == "approve":
            # DESIGN.md §8: nobody's silence lets a model into a protected environment.
            self.add_error("on_timeout", "A protected environment can only reject a request nobody decided in time.")
        if groups and needed:
            people = (
                get_user_model()
                .objects.filter(is_active=True)
                .filter(Q(groups__name__in=groups) | Q(is_superuser=True))
                .distinct()
                .count()
            )
            if people < needed:
                self.add_error(
                    "min_approvals",
                    f"Only {people} active user{'s' if people != 1 else ''} may approve for {', '.join(groups)}: "
                    f"{needed} distinct approvals could never be reached.",
                )
        if data.get("approval_timeout_hours") is not None and data["approval_timeout_hours"] < 1:
            self.add_error("approval_timeout_hours", "Give reviewers at least one hour.")
        return data


@role_required(Role.VIEWER)
def environment_list(request):
    environments = list(Environment.objects.all())
    for environment in environments:
        environment.timeout_rule = environment_timeout(environment)
    return render(
        request,
        "deployments/environments.html",
        {"environments": environments, "can_manage": has_role(request.user, Role.ADMIN)},
    )


def _save_environment(request, form, verb):
    with transaction.atomic():
        changed = {name: form.cleaned_data.get(name) for name in form.changed_data}
        environment = form.save()
        AuditEvent.objects.record(request.user, verb, environment, changed)
    return environment


@role_required(Role.ADMIN)
def environment_create(request):
    form = EnvironmentForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            environment = _save_environment(request, form, "environment.created")
            messages.success(request, f"Environment {environment.name} created.")
            return redirect("environments")
        return render(request, "deployments/environment_form.html", {"form": form, "creating": True}, status=400)
    return render(request, "deployments/environment_form.html", {"form": form, "creating": True})


@role_required(Role.ADMIN)
def environment_edit(request, name):
    environment = get_object_or_404(Environment, name=name)
    form = EnvironmentForm(request.POST if request.method == "POST" else None, instance=environment)
    if request.method == "POST":
        if form.is_valid():
            if form.has_changed():
                _save_environment(request, form, "environment.changed")
                messages.success(request, f"Environment {environment.name} saved.")
            return redirect("environments")
        return render(
            request, "deployments/environment_form.html", {"form": form, "environment": environment}, status=400
        )
    return render(request, "deployments/environment_form.html", {"form": form, "environment": environment})
