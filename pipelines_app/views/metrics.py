"""``GET /metrics``: Prometheus' text format, for a viewer's token or an allow-listed scraper address.

Who may scrape: what it shows (model names, traffic, queue depths, runs by status) is what a viewer sees on the
site's pages, so an API token whose user has at least the viewer role, or a viewer's session. A predict-only token
is refused: it is handed to the applications that call a model, and they have no business reading the others'
traffic. Without a token, only a client address listed in ``METRICS_ALLOWED_ADDRESSES`` (by default this machine),
read as ``mlops_site.client_address`` reads it, never from a header a client could write.
"""

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from mlops_site.client_address import client_in
from pipelines_app import prometheus
from pipelines_app.models import ApiToken
from pipelines_app.permissions import Role, has_role


def _refused(status, message):
    response = JsonResponse(
        {"error": "unauthorized" if status == 401 else "forbidden", "message": message}, status=status
    )
    if status == 401:
        response["WWW-Authenticate"] = "Token"
    return response


def _scrape_refused(request):
    """None when the caller may scrape, else the 401 or 403 answer. A token, when one is sent, decides alone: a bad
    one is refused even from an allowed address, so that a scraper's misconfiguration shows."""
    header = request.META.get("HTTP_AUTHORIZATION")
    if header is not None:
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() not in ("token", "bearer"):
            return _refused(401, "Send 'Authorization: Token <key>' with one token after the keyword.")
        token = ApiToken.objects.authenticate(parts[1])
        if token is None:
            return _refused(401, "This token is unknown or revoked.")
        if token.predict_only or not has_role(token.user, Role.VIEWER):
            return _refused(403, "Metrics need a token of a user with the viewer role or above (not predict-only).")
        token.touch()
        return None
    if has_role(request.user, Role.VIEWER) or client_in(request, settings.METRICS_ALLOWED_ADDRESSES):
        return None
    return _refused(401, "Metrics need 'Authorization: Token <key>' (a viewer's token) or an allowed address.")


@require_GET
def metrics(request):
    refused = _scrape_refused(request)
    if refused:
        return refused
    body, content_type = prometheus.render(request.META.get("HTTP_ACCEPT", ""))
    return HttpResponse(body, content_type=content_type)
