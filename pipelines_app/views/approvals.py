"""Approvals: the inbox, the evidence page with the decision form, and the downloadable HTML report."""

from django import forms
from django.contrib import messages
from django.contrib.staticfiles import finders
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_POST

from pipelines_app.engine import approvals
from pipelines_app.engine.evidence import build_evidence
from pipelines_app.models import ApprovalRequest, ApprovalStatus, Environment, RegisteredModel
from pipelines_app.models.approvals import DecisionRefused
from pipelines_app.permissions import Role, role_required

FILTERS = ("status", "environment", "model")


def _get_request(pk):
    return get_object_or_404(
        ApprovalRequest.objects.select_related(
            "model_version__model",
            "model_version__run",
            "model_version__dataset_version__dataset",
            "model_version__pipeline_version__pipeline",
            "run__pipeline",
            "requested_by",
        ),
        pk=pk,
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    comment = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))

    def clean(self):
        data = super().clean()
        if data.get("decision") == "reject" and not (data.get("comment") or "").strip():
            self.add_error("comment", "A rejection needs a comment saying why.")
        return data


def _filtered(requests, params):
    if params.get("status") in ApprovalStatus.values:
        requests = requests.filter(status=params["status"])
    if params.get("environment"):
        requests = requests.filter(environment=params["environment"])
    if params.get("model"):
        requests = requests.filter(model_version__model__name=params["model"])
    return requests


@role_required(Role.VIEWER)
def approval_list(request):
    base = ApprovalRequest.objects.select_related("model_version__model", "requested_by", "run")
    mine = ApprovalRequest.objects.decidable_by(request.user, limit=None)
    filters = {name: request.GET.get(name, "") for name in FILTERS}
    page = Paginator(_filtered(base, request.GET).order_by("-id"), 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "approvals/list.html",
        {
            "mine": mine,
            "page": page,
            "filters": filters,
            "query": query.urlencode(),
            "statuses": ApprovalStatus.choices,
            "environments": Environment.objects.values_list("name", flat=True),
            "models": RegisteredModel.objects.order_by("name").values_list("name", flat=True),
        },
    )


def _detail_context(request, approval, form=None):
    evidence = build_evidence(approval.model_version, approval.environment) if approval.model_version else None
    why_not = approval.why_not(request.user)
    return {
        "approval": approval,
        "decisions": approval.decisions.select_related("user"),
        "evidence": evidence,
        "why_not": why_not,
        "party_names": approval.party_usernames(),
        "form": form or DecisionForm(),
        "now": timezone.now(),
    }


@role_required(Role.VIEWER)
def approval_detail(request, pk):
    approval = _get_request(pk)
    return render(request, "approvals/detail.html", _detail_context(request, approval))


@require_POST
@role_required(Role.VIEWER)  # who may decide is the request's own rule (groups, four-eyes), checked in decide()
def approval_decide(request, pk):
    approval = _get_request(pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return render(request, "approvals/detail.html", _detail_context(request, approval, form), status=400)
    approve = form.cleaned_data["decision"] == "approve"
    try:
        outcome = approvals.decide(approval, request.user, approve, form.cleaned_data["comment"])
    except DecisionRefused as exc:
        form.add_error(None, str(exc))
        return render(request, "approvals/detail.html", _detail_context(request, approval, form), status=exc.status)
    messages.success(request, f"Your {'approval' if approve else 'rejection'} is recorded; the request is {outcome}.")
    return redirect(approval.get_absolute_url())


# The bundle the pages load (templates/partials/chart_scripts.html), inlined into the downloadable report.
PLOTLY_JS = "vendor/plotly.js-cartesian-dist-min/plotly-cartesian-4.1.1.min.js"


def report_response(request, context, filename):
    """The evidence as one self-contained HTML file: styles, plotly.js and the chart scripts inline."""
    scripts = {}
    for name in (PLOTLY_JS, "js/as_text.js", "js/charts.js", "js/evidence_charts.js"):
        with open(finders.find(name), encoding="utf-8") as script:
            scripts[name] = script.read()
    plotly_js = scripts.pop(PLOTLY_JS)
    html = render_to_string(
        "approvals/report.html",
        {**context, "plotly_js": plotly_js, "charts_js": "\n".join(scripts.values()), "now": timezone.now()},
        request=request,
    )
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Its scripts are inline by design (it must open offline, alone); it may load nothing from anywhere.
    response["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:"
    )
    return response


@role_required(Role.VIEWER)
def approval_report(request, pk):
    approval = _get_request(pk)
    if approval.model_version is None:
        messages.error(request, "This request names no model version, so there is no model report.")
        return redirect(approval.get_absolute_url())
    context = _detail_context(request, approval)
    context["approvals"] = [{"approval": approval, "decisions": list(context["decisions"])}]
    version = approval.model_version
    return report_response(request, context, f"approval-{approval.pk}-{version.model.name}-v{version.version}.html")
