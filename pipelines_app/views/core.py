"""The overview and the sections whose content later features fill in."""

from datetime import timedelta

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from pipelines_app.authoring import DEMO_PIPELINE
from pipelines_app.models import Alert, ApprovalRequest, AuditEvent, Pipeline, PipelineRun, WorkerHeartbeat
from pipelines_app.models.audit import with_current_objects
from pipelines_app.monitoring.dashboard import overview_rows
from pipelines_app.permissions import Role, has_role, role_required
from pipelines_app.tasks import request_worker_heartbeat

OVERVIEW_RUNS = 8
OVERVIEW_ALERTS = 6
OVERVIEW_APPROVALS = 5


def worker_status():
    """Hosts whose worker answered the periodic heartbeat in the last two minutes."""
    since = timezone.now() - timedelta(minutes=2)
    hosts = {}
    for beat in WorkerHeartbeat.objects.latest_per_host(since):
        hosts.setdefault(beat.host, beat.seen_at)
    last = WorkerHeartbeat.objects.order_by("-seen_at").values_list("seen_at", flat=True).first()
    return {"hosts": sorted(hosts.items()), "last_seen": last}


@role_required(Role.VIEWER)
def overview(request):
    """An operator's home: what serves and how it does, what waits for them, recent runs, open alerts, workers."""
    recent = with_current_objects(AuditEvent.objects.all()[:8]) if has_role(request.user, Role.REVIEWER) else None
    deployments = overview_rows()
    runs = PipelineRun.objects.recent_failed_first(OVERVIEW_RUNS)
    can_run = has_role(request.user, Role.EDITOR)
    demo = None
    if can_run and not (deployments and runs):
        demo = Pipeline.objects.active().filter(slug=DEMO_PIPELINE).first()
    context = {
        "workers": worker_status(),
        "recent_events": recent,
        "deployments": deployments,
        "waiting": ApprovalRequest.objects.decidable_by(request.user),
        "waiting_shown": OVERVIEW_APPROVALS,
        "runs": runs,
        "alerts": Alert.objects.open().select_related("rule__deployment__model", "rule__deployment__environment")[
            :OVERVIEW_ALERTS
        ],
        "can_run": can_run,
        "demo_pipeline": demo,
    }
    return render(request, "core/overview.html", context)


@role_required(Role.VIEWER)
def worker_status_fragment(request):
    return render(request, "core/partials/workers.html", {"workers": worker_status()})


@require_POST
@role_required(Role.VIEWER)
def check_workers(request):
    request_worker_heartbeat()
    if request.htmx:
        return render(request, "core/partials/workers.html", {"workers": worker_status(), "checking": True})
    messages.info(request, "Asked the workers to report; the status updates within seconds.")
    return redirect("overview")


def _wants_json(request):
    """API and serving callers get JSON errors, as everywhere else in their answers."""
    return request.path.startswith(("/api/", "/serve/", "/v2/"))


def forbidden(request, exception=None):
    message = str(exception) if exception and str(exception) else "You may not do this."
    if _wants_json(request):
        return JsonResponse({"detail": message}, status=403)
    return render(request, "403.html", {"message": message}, status=403)


def not_found(request, exception=None):
    if _wants_json(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return render(request, "404.html", status=404)


def server_error(request):
    if _wants_json(request):
        return JsonResponse({"detail": "Internal server error: it is logged."}, status=500)
    return render(request, "500.html", status=500)
