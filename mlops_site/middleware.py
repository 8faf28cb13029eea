"""Headers every HTML page carries, beyond what Django's SecurityMiddleware sets, and the request body limit."""

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.urls import Resolver404, resolve

# Scripts and everything else from this site only: no inline script runs, so injected markup cannot run code.
# Inline styles are allowed because Plotly and htmx set them; the charts' data goes through json_script tags.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """Sets the policy on HTML responses that have none of their own (a downloadable report sets its own)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response and response.get("Content-Type", "").startswith("text/html"):
            response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return response


# Views whose bodies have a limit of their own: a CSV upload may be far larger than a form, and scoring answers
# an oversized body itself so that the refusal is counted in monitoring.
_UPLOAD_VIEWS = {"dataset-upload", "dataset-list"}
_OWN_LIMIT_VIEWS = {"serve-invocations", "v2-infer", "v2-infer-version"}
# Room for the multipart envelope around an uploaded file (boundaries, the other fields).
_MULTIPART_ALLOWANCE = 64 * 1024


class RequestBodyLimitMiddleware:
    """Refuses a body larger than its view accepts with 413, from the Content-Length alone, before anything reads
    it. Django bounds what it reads by the Content-Length, so the header is the whole body's size; parsers that
    read the stream themselves (DRF's) would otherwise read and parse it all, e.g. 44 s for 30 MB of YAML."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        # Only a body over the general limit costs a URL lookup: the serving hot path pays one comparison.
        if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            limit = self._limit_for(request)
            if limit is not None and length > limit:
                return self._too_large(request, length, limit)
        return self.get_response(request)

    @staticmethod
    def _limit_for(request):
        try:
            name = resolve(request.path_info).url_name
        except Resolver404:
            return settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if name in _OWN_LIMIT_VIEWS:
            return None
        if name in _UPLOAD_VIEWS:
            return settings.DATASET_MAX_BYTES + _MULTIPART_ALLOWANCE
        return settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    @staticmethod
    def _too_large(request, length, limit):
        message = f"The request body is {length:,} bytes; at most {limit:,} are accepted here."
        if request.path_info.startswith(("/api/", "/serve/")):
            return JsonResponse({"detail": message}, status=413)
        return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
