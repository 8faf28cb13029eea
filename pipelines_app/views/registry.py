"""The model registry: models, their versions with metrics and lineage, curves, download, compare."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Max, Q
from django.forms.models import model_to_dict
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from pipelines_app.engine.deployments import PromotionRefused, promote_model_version
from pipelines_app.engine.evidence import build_evidence
from pipelines_app.models import AuditEvent, Deployment, Environment, RegisteredModel, SearchTrial
from pipelines_app.permissions import Role, has_role, role_required
from pipelines_app.views.approvals import report_response
from pipelines_app.views.runs import search_context

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
    return _model_page(request, name)


def _model_page(request, name, status=200):
    """The model page; after refused settings, with the reason and a 4xx status."""
    model, versions = _versions(name)
    versions = list(versions)
    metrics = [m for m in KEY_METRICS if any(m in v.metrics for v in versions)]
    chart = {
        "versions": [v.version for v in reversed(versions)],
        "series": {m: [v.metrics.get(m) for v in reversed(versions)] for m in metrics},
    }
    return render(
        request,
        "registry/model.html",
        {
            "model": model,
            "versions": versions,
            "metrics": metrics,
            "chart": chart,
            "can_edit": has_role(request.user, Role.EDITOR),
        },
        status=status,
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
    serving = Deployment.objects.filter(
        Q(primary_version=current) | Q(canary_version=current) | Q(shadow_version=current)
    ).select_related("environment")
    return render(
        request,
        "registry/version.html",
        {
            "serving": serving,
            "promote_form": PromoteForm() if has_role(request.user, Role.EDITOR) else None,
            "approvals": current.approval_requests.select_related("requested_by").order_by("-id")[:10],
            "model": model,
            "v": current,
            "other": other,
            "comparison": comparison,
            "versions": versions,
            "can_download": has_role(request.user, Role.EDITOR),
            "evaluation": current.evaluation,
            # The search that chose its parameters, when its train step had one.
            **search_context(list(SearchTrial.objects.filter(step_run_id=current.step_run_id or 0))),
        },
    )


class PromoteForm(forms.Form):
    environment = forms.ModelChoiceField(
        queryset=Environment.objects.all(),
        to_field_name="name",
        empty_label=None,
        error_messages={"invalid_choice": "No environment is named like that."},
    )


@require_POST
@role_required(Role.EDITOR)
def model_version_promote(request, name, version):
    _, versions = _versions(name)
    current = get_object_or_404(versions, version=version)
    form = PromoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("environment", ["Choose an environment."])))
        return _bad_promotion(request, current)
    environment = form.cleaned_data["environment"]
    try:
        outcome, obj = promote_model_version(current, environment, request.user)
    except PromotionRefused as exc:
        messages.error(request, str(exc))
        return _bad_promotion(request, current, status=409)
    if outcome == "deployed":
        messages.success(request, f"{current} now serves in {environment.name}.")
        return redirect(current.get_absolute_url())
    messages.success(
        request,
        f"{environment.name} is protected: approval request #{obj.pk} is open and its reviewers are notified; "
        "the deploy follows their approval.",
    )
    return redirect(obj.get_absolute_url())


def _bad_promotion(request, version, status=400):
    response = model_version(request, version.model.name, version.version)
    response.status_code = status
    return response


@role_required(Role.VIEWER)
def model_version_report(request, name, version):
    _, versions = _versions(name)
    current = get_object_or_404(versions, version=version)
    approvals = [
        {"approval": a, "decisions": list(a.decisions.select_related("user"))}
        for a in current.approval_requests.select_related("requested_by").order_by("id")
    ]
    context = {"evidence": build_evidence(current, "production"), "approvals": approvals}
    return report_response(request, context, f"{current.model.name}-v{current.version}-report.html")


class ModelSettingsForm(forms.ModelForm):
    class Meta:
        model = RegisteredModel
        fields = [
            "description",
            "label_latency_hours",
            "drift_psi_warn",
            "drift_psi_alert",
            "drift_distance_warn",
            "drift_distance_alert",
            "drift_share",
        ]

    def clean_label_latency_hours(self):
        hours = self.cleaned_data["label_latency_hours"]
        if hours > 24 * 366:
            raise forms.ValidationError("At most a year (8,784 hours).")
        return hours

    def clean(self):
        data = super().clean()
        for name in ("drift_psi_warn", "drift_psi_alert", "drift_distance_warn", "drift_distance_alert"):
            if data.get(name) is not None and not 0 < data[name] <= 10:
                self.add_error(name, "A drift limit is above 0 and at most 10.")
        for measure in ("psi", "distance"):
            warn, alert = data.get(f"drift_{measure}_warn"), data.get(f"drift_{measure}_alert")
            if warn is not None and alert is not None and warn > alert:
                self.add_error(f"drift_{measure}_alert", f"The {measure.upper()} alert limit is below its warning.")
        share = data.get("drift_share")
        if share is not None and not 0 < share <= 1:
            self.add_error("drift_share", "The share of drifted features is above 0 and at most 1.")
        return data


@require_POST
@role_required(Role.EDITOR)
def model_settings(request, name):
    model = get_object_or_404(RegisteredModel, name=name)
    # A form may send some of the settings: the others keep their values.
    current = model_to_dict(model, fields=ModelSettingsForm.Meta.fields)
    form = ModelSettingsForm({**current, **request.POST.dict()}, instance=model)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        # Fetched again: the refused values are on the form's instance, not saved.
        return _model_page(request, name, status=400)
    form.save()
    AuditEvent.objects.record(request.user, "model.settings_changed", model, form.cleaned_data)
    messages.success(request, "Saved.")
    return redirect(model.get_absolute_url())
