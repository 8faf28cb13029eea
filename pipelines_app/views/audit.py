from django.core.paginator import Paginator
from django.shortcuts import render

from pipelines_app.forms import AuditFilterForm
from pipelines_app.models import AuditEvent
from pipelines_app.permissions import Role, role_required


@role_required(Role.REVIEWER)
def audit_log(request):
    form = AuditFilterForm(request.GET or None)
    events = AuditEvent.objects.all()
    status = 200
    if form.is_valid():
        events = form.filter(events)
    elif form.is_bound:
        events, status = events.none(), 400
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/log.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "verbs": AuditEvent.objects.order_by().values_list("verb", flat=True).distinct(),
        },
        status=status,
    )
