"""Monitoring: every deployment's health on one page, and each deployment's dashboard (data from rollups)."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import OuterRef, Subquery
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from pipelines_app.models import Alert, AlertRule, AuditEvent, Deployment, DeploymentEvent, DriftReport
from pipelines_app.monitoring import bins, drift, rollups
from pipelines_app.monitoring.alerts import acknowledge
from pipelines_app.monitoring.reports import request_report
from pipelines_app.monitoring.summary import (
    WindowInvalid,
    parse_window,
    performance_series,
    selection_by_group,
    summarise,
    summary,
)
from pipelines_app.outbound import destination_problem
from pipelines_app.permissions import Role, has_role, role_required

WINDOWS = ["1h", "6h", "24h", "7d", "30d"]


def _deployment(model, environment):
    return get_object_or_404(
        Deployment.objects.select_related("environment", "model", "primary_version", "canary_version"),
        model__name=model,
        environment__name=environment,
    )


@role_required(Role.VIEWER)
def overview(request):
    rows = []
    latest = Alert.objects.filter(rule__deployment=OuterRef("pk")).order_by("-started_at", "-id").values("pk")[:1]
    deployments = (
        Deployment.objects.select_related("environment", "model", "primary_version")
        .annotate(last_alert_id=Subquery(latest))
        .order_by("environment__name", "model__name")
    )
    last_alerts = Alert.objects.select_related("rule").in_bulk(
        [d.last_alert_id for d in deployments if d.last_alert_id]
    )
    for deployment in deployments:
        if deployment.primary_version is None:
            continue
        data = summary(deployment, "24h")
        levels = [f["level"] for name, f in data["drift"].items() if isinstance(f, dict)]
        rows.append(
            {
                "deployment": deployment,
                "data": data,
                "drift_level": "alert" if "alert" in levels else "warn" if "warn" in levels else "ok",
                "last_alert": last_alerts.get(deployment.last_alert_id),
            }
        )
    return render(request, "monitoring/overview.html", {"rows": rows})


def _dashboard_context(request, deployment, form=None):
    return {
        "deployment": deployment,
        "window": request.GET.get("window", "24h"),
        "windows": WINDOWS,
        "rules": deployment.alert_rules.all(),
        "can_edit_rules": has_role(request.user, Role.EDITOR),
        "rule_form": form or AlertRuleForm(deployment=deployment),
        "open_alerts": Alert.objects.filter(rule__deployment=deployment).exclude(state=Alert.State.RESOLVED),
    }


@role_required(Role.VIEWER)
def dashboard(request, model, environment):
    deployment = _deployment(model, environment)
    return render(request, "monitoring/dashboard.html", _dashboard_context(request, deployment))


@role_required(Role.VIEWER)
def dashboard_data(request, model, environment):
    """The dashboard's charts as JSON: one request, read from rollups only."""
    deployment = _deployment(model, environment)
    try:
        summarised = summarise(deployment, request.GET.get("window", "24h"))
    except WindowInvalid as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    data, totals, specs = summarised.data, summarised.totals, summarised.specs
    version = deployment.primary_version
    series = [
        {
            "t": minute["t"].isoformat(),
            "requests": minute["requests"],
            "error_rate": minute["errors"] / minute["requests"] if minute["requests"] else None,
            "positive_rate": minute["positives"] / minute["rows"] if minute["rows"] else None,
            "p50": rollups.percentile(minute["latency"], 0.5),
            "p95": rollups.percentile(minute["latency"], 0.95),
            "p99": rollups.percentile(minute["latency"], 0.99),
        }
        for minute in totals.series
    ]
    features = {
        name: {
            "labels": bins.labels(spec),
            "reference": spec["reference"],
            "current": totals.features.get(name) or [0] * len(spec["reference"]),
        }
        for name, spec in specs.items()
    }
    events = [
        {"t": e.created_at.isoformat(), "action": e.action, "version": e.version.version if e.version else None}
        for e in DeploymentEvent.objects.filter(deployment=deployment, created_at__gte=data["since"]).select_related(
            "version"
        )
    ]
    reference_scores = (version.evaluation or {}).get("score_histogram") if version else None
    fairness_series = {}
    for entry in data["fairness"]:
        name = entry["feature"]
        groups = bins.groups(specs[name])
        names = [group for group, _ in groups]
        points = []
        for bucket in totals.series:
            rates = {
                g["group"]: g["selection_rate"]
                for g in selection_by_group(
                    groups,
                    (bucket.get("features") or {}).get(name) or [],
                    (bucket.get("group_positives") or {}).get(name) or [],
                )
            }
            if rates:
                points.append({"t": bucket["t"].isoformat(), "rates": [rates.get(group) for group in names]})
        fairness_series[name] = {"groups": names, "points": points}
    data.update(
        series=series,
        features=features,
        scores=totals.scores,
        reference_scores=reference_scores,
        fairness_series=fairness_series,
        performance_series=performance_series(version, totals, summarised.labelled),
        events=events,
        granularity=totals.granularity,
    )
    return JsonResponse(data)


@role_required(Role.VIEWER)
def alert_list(request):
    alerts = (
        Alert.objects.select_related("rule__deployment__model", "rule__deployment__environment", "acknowledged_by")
        .prefetch_related("webhook_deliveries")
        .order_by("-started_at", "-id")
    )
    state = request.GET.get("state", "")
    if state in Alert.State.values:
        alerts = alerts.filter(state=state)
    page = Paginator(alerts, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "monitoring/alerts.html",
        {
            "page": page,
            "state": state,
            "states": Alert.State.choices,
            "query": f"state={state}" if state else "",
            "can_acknowledge": has_role(request.user, Role.EDITOR),
        },
    )


@require_POST
@role_required(Role.EDITOR)
def alert_acknowledge(request, pk):
    alert = get_object_or_404(Alert, pk=pk)
    if acknowledge(alert, request.user):
        messages.success(request, "Acknowledged: the alert stays open until its condition clears.")
    else:
        messages.error(request, f"This alert is {alert.get_state_display()}: only a firing alert is acknowledged.")
        return _conflict()
    return redirect("alerts")


def _conflict():
    response = redirect("alerts")
    response.status_code = 409
    return response


class AlertRuleForm(forms.ModelForm):
    notify = forms.CharField(
        required=False,
        help_text="Comma-separated: group:<name>, e-mail addresses, webhook:<url>.",
    )

    class Meta:
        model = AlertRule
        fields = ["metric", "feature", "threshold", "window", "cooldown_minutes", "notify", "trigger_retraining"]

    def __init__(self, *args, deployment=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.deployment = deployment

    def clean_notify(self):
        entries = [e.strip() for e in (self.cleaned_data.get("notify") or "").split(",") if e.strip()]
        webhooks = [e for e in entries if e.startswith("webhook:")]
        bad = [e for e in entries if e not in webhooks and not (e.startswith("group:") or "@" in e)]
        if bad:
            raise forms.ValidationError(f"Not a group, e-mail address or webhook: {', '.join(bad)}.")
        # The outbound client checks again when it sends; refusing here tells the editor now, not the audit log later.
        problems = [destination_problem(e.partition(":")[2]) for e in webhooks]
        if any(problems):
            raise forms.ValidationError([f"Webhook {problem}." for problem in problems if problem])
        return entries

    def clean_window(self):
        try:
            parse_window(self.cleaned_data["window"])
        except WindowInvalid as exc:
            raise forms.ValidationError(str(exc)) from None
        return self.cleaned_data["window"]

    def clean(self):
        data = super().clean()
        if data.get("metric") == AlertRule.Metric.FEATURE_PSI:
            version = self.deployment.primary_version if self.deployment else None
            features = version.features if version else []
            if data.get("feature") not in features:
                self.add_error("feature", f"Name one of the model's features: {', '.join(features)}.")
        return data


@require_POST
@role_required(Role.EDITOR)
def alert_rule_create(request, model, environment):
    deployment = _deployment(model, environment)
    form = AlertRuleForm(request.POST, deployment=deployment)
    if not form.is_valid():
        return render(
            request,
            "monitoring/dashboard.html",
            _dashboard_context(request, deployment, form),
            status=400,
        )
    rule = form.save(commit=False)
    rule.deployment = deployment
    rule.save()
    AuditEvent.objects.record(request.user, "alert_rule.created", rule, {"rule": str(rule)})
    messages.success(request, f"Alert rule added: {rule}.")
    return redirect("monitoring-dashboard", model, environment)


@require_POST
@role_required(Role.EDITOR)
def alert_rule_delete(request, model, environment, pk):
    deployment = _deployment(model, environment)
    rule = get_object_or_404(AlertRule, pk=pk, deployment=deployment)
    AuditEvent.objects.record(request.user, "alert_rule.deleted", rule, {"rule": str(rule)})
    rule.delete()
    messages.success(request, "Alert rule removed.")
    return redirect("monitoring-dashboard", model, environment)


@require_POST
@role_required(Role.EDITOR)
def drift_report_create(request, model, environment):
    deployment = _deployment(model, environment)
    try:
        span = parse_window(request.POST.get("window", "24h"))
    except WindowInvalid as exc:
        messages.error(request, str(exc))
        response = redirect("monitoring-dashboard", model, environment)
        response.status_code = 400
        return response
    if deployment.primary_version is None:
        messages.error(request, "Nothing serves here, so there is nothing to report on.")
        return _conflict()
    until = timezone.now()
    report = request_report(deployment, until - span, until, request.user)
    return redirect(report.get_absolute_url())


@role_required(Role.VIEWER)
def drift_report(request, pk):
    report = get_object_or_404(
        DriftReport.objects.select_related("deployment__model", "deployment__environment", "model_version"), pk=pk
    )
    features = [(name, result) for name, result in report.results.items() if not name.startswith("_")]
    return render(
        request,
        "monitoring/report.html",
        {"report": report, "features": features, "overall": report.results.get("_overall")},
    )


@role_required(Role.VIEWER)
def feature_page(request, model, environment, feature):
    """One feature: its current distribution over the training one, and its drift over time."""
    deployment = _deployment(model, environment)
    version = deployment.primary_version
    specs = bins.reference_bins(version.reference_profile, version.feature_schema) if version else {}
    if feature not in specs:
        raise Http404("This model has no such feature.")
    window = request.GET.get("window", "24h")
    try:
        summarised = summarise(deployment, window)
    except WindowInvalid as exc:
        messages.error(request, str(exc))
        return redirect("monitoring-feature", model, environment, feature)
    data, totals, spec = summarised.data, summarised.totals, specs[feature]
    over_time = []
    for bucket in totals.series:
        counts = (bucket.get("features") or {}).get(feature)
        if counts and sum(counts):
            over_time.append({"t": bucket["t"].isoformat(), "psi": round(drift.psi(spec["reference"], counts), 6)})
    chart = {
        "labels": bins.labels(spec),
        "reference": spec["reference"],
        "current": totals.features.get(feature) or [0] * len(spec["reference"]),
        "over_time": over_time,
        "psi_limits": data["thresholds"]["psi"],
    }
    return render(
        request,
        "monitoring/feature.html",
        {
            "deployment": deployment,
            "feature": feature,
            "kind": spec["kind"],
            "result": data["drift"].get(feature),
            "chart": chart,
            "window": window,
            "windows": WINDOWS,
        },
    )
