"""Monitoring: every deployment's health on one page, and each deployment's dashboard (data from rollups)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from pipelines_app.forms import AlertRuleForm
from pipelines_app.models import Alert, AlertRule, AuditEvent, Deployment, DriftReport
from pipelines_app.monitoring.alerts import acknowledge
from pipelines_app.monitoring.dashboard import FeatureUnknown, charts, feature_chart, overview_rows
from pipelines_app.monitoring.reports import ReportRefused, request_report
from pipelines_app.monitoring.summary import WindowInvalid, parse_window
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
    return render(request, "monitoring/overview.html", {"rows": overview_rows()})


def _dashboard_page(request, deployment, form=None, status=200):
    """The dashboard; with a refused change, its reason (a message or the form's errors) and a 4xx status."""
    context = {
        "deployment": deployment,
        "window": request.GET.get("window", "24h"),
        "windows": WINDOWS,
        "rules": deployment.alert_rules.all(),
        "can_edit_rules": has_role(request.user, Role.EDITOR),
        "rule_form": form or AlertRuleForm(deployment=deployment),
        "open_alerts": Alert.objects.filter(rule__deployment=deployment).exclude(state=Alert.State.RESOLVED),
    }
    return render(request, "monitoring/dashboard.html", context, status=status)


@role_required(Role.VIEWER)
def dashboard(request, model, environment):
    deployment = _deployment(model, environment)
    return _dashboard_page(request, deployment)


@role_required(Role.VIEWER)
def dashboard_data(request, model, environment):
    """The dashboard's charts as JSON: one request, read from rollups only."""
    deployment = _deployment(model, environment)
    try:
        data = charts(deployment, request.GET.get("window", "24h"))
    except WindowInvalid as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse(data)


@role_required(Role.VIEWER)
def alert_list(request):
    return _alerts_page(request)


def _alerts_page(request, status=200):
    """The alerts page; after a refused acknowledgement, with its reason and a 4xx status."""
    alerts = (
        Alert.objects.select_related("rule__deployment__model", "rule__deployment__environment", "acknowledged_by")
        .prefetch_related("deliveries")
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
        status=status,
    )


@require_POST
@role_required(Role.EDITOR)
def alert_acknowledge(request, pk):
    alert = get_object_or_404(Alert, pk=pk)
    if not acknowledge(alert, request.user):
        messages.error(request, f"This alert is {alert.get_state_display()}: only a firing alert is acknowledged.")
        return _alerts_page(request, status=409)
    messages.success(request, "Acknowledged: the alert stays open until its condition clears.")
    return redirect("alerts")


@require_POST
@role_required(Role.EDITOR)
def alert_rule_create(request, model, environment):
    deployment = _deployment(model, environment)
    form = AlertRuleForm(request.POST, deployment=deployment)
    if not form.is_valid():
        return _dashboard_page(request, deployment, form, status=400)
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
        return _dashboard_page(request, deployment, status=400)
    if deployment.primary_version is None:
        messages.error(request, "Nothing serves here, so there is nothing to report on.")
        return _dashboard_page(request, deployment, status=409)
    until = timezone.now()
    try:
        report = request_report(deployment, until - span, until, request.user)
    except ReportRefused as exc:
        messages.error(request, str(exc))
        return _dashboard_page(request, deployment, status=400)
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
    window = request.GET.get("window", "24h")
    try:
        shown = feature_chart(deployment, feature, window)
    except FeatureUnknown:
        raise Http404("This model has no such feature.") from None
    except WindowInvalid as exc:
        messages.error(request, str(exc))
        return redirect("monitoring-feature", model, environment, feature)
    return render(
        request,
        "monitoring/feature.html",
        {
            "deployment": deployment,
            "feature": feature,
            "kind": shown.kind,
            "result": shown.result,
            "chart": shown.chart,
            "window": window,
            "windows": WINDOWS,
        },
    )
