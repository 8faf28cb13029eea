"""The overview and the sections whose content later features fill in."""

from datetime import timedelta

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from pipelines_app.models import AuditEvent, WorkerHeartbeat
from pipelines_app.permissions import Role, has_role, role_required
from pipelines_app.tasks import request_worker_heartbeat


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
    recent = AuditEvent.objects.all()[:8] if has_role(request.user, Role.REVIEWER) else None
    return render(request, "core/overview.html", {"workers": worker_status(), "recent_events": recent})


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
    return request.path.startswith(("/api/", "/serve/"))


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
