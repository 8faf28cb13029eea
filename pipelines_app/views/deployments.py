"""Deployments: what serves where, and the environments with their protection rules (admins manage them)."""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.shortcuts import get_object_or_404, redirect, render

from pipelines_app.models import AuditEvent, Deployment, DeploymentEvent, Environment
from pipelines_app.permissions import Role, has_role, role_required


@role_required(Role.VIEWER)
def deployment_list(request):
    latest = DeploymentEvent.objects.filter(deployment=OuterRef("pk")).order_by("-created_at", "-id")
    deployments = (
        Deployment.objects.select_related("environment", "model", "primary_version", "canary_version", "shadow_version")
        .annotate(since=Subquery(latest.values("created_at")[:1]), since_by=Subquery(latest.values("actor_name")[:1]))
        .order_by("environment__name", "model__name")
    )
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

    def clean(self):
        data = super().clean()
        groups, needed = data.get("approver_groups") or [], data.get("min_approvals")
        if groups and not needed:
            self.add_error("min_approvals", "With approver groups, at least one approval is needed.")
        if needed and not groups:
            self.add_error("approver_groups", "Name the groups whose members approve, or set min approvals to 0.")
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
    environments = Environment.objects.all()
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
