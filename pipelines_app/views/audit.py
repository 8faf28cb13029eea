import csv
import json

from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render

from pipelines_app.forms import AuditFilterForm
from pipelines_app.models import AuditEvent
from pipelines_app.models.audit import with_current_objects
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
    if request.GET.get("format") == "csv" and status == 200:
        return _csv_response(events)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    page.object_list = with_current_objects(page.object_list)
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


# A cell a spreadsheet would read as a formula (=, +, -, @, or a tab or carriage return first) is written with a
# leading apostrophe: an actor name or object text from a user must not run when the export is opened.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value) -> str:
    if isinstance(value, dict | list):
        text = json.dumps(value, sort_keys=True)
    else:
        text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Echo:
    def write(self, value):
        return value


def _csv_response(events):
    """The filtered log as CSV, streamed (it can be long), oldest first as the chain runs."""
    writer = csv.writer(_Echo())
    columns = ["id", "created_at", "actor_name", "verb", "object_type", "object_id", "object_repr", "payload", "hash"]

    def rows():
        yield writer.writerow(columns)
        for event in events.order_by("id").iterator(chunk_size=2000):
            yield writer.writerow([spreadsheet_safe(getattr(event, name)) for name in columns])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    return response
