"""The WSGI application: the site, with machine-to-machine routes answered by a handler of their own.

Scoring (``/serve/…``, ``/v2/…``) is called by programs with a token, never by a browser with a session, and every
microsecond of its request path is the caller's. Those paths go to ``MachineRoutesHandler``: the same views, URLs
and settings, without what only the site needs (its middleware, its hundred URL patterns, the per-request
signals). Django's test client and live server use the whole stack for every path, so each view is also tested
with it; ``tests/serving/test_machine_handler.py`` drives this handler as a WSGI server does.
"""

import os

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.urls import Resolver404, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern
from django.utils.log import log_response
from django.utils.module_loading import import_string

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlops_site.settings")

# Routes whose callers are programs, by the start of the path.
MACHINE_PREFIXES = ("/serve/", "/v2/")


class MachineRoutesHandler(WSGIHandler):
    """Django's handler cut down to what programs' routes use; each step left out cost a tenth to a fifth of a
    one-row prediction's time under gunicorn (benchmarks/serving.py):

    - only the machine routes' URL patterns (``mlops_site.urls.machine_urlpatterns``), looked up first; a path none
      of them takes is handed to the site (``fallback``), whose 404 it is;
    - the middleware of ``settings.SERVING_MIDDLEWARE`` (security headers, the body limit) around the view itself,
      without the site's per-request steps (URL configuration and script prefix per thread, atomic views, view
      and template-response middleware: none of them is used by these views, which build no URL);
    - no ``request_started``/``request_finished`` signals. Their receivers reset DEBUG's query log, close database
      connections that are unusable or past ``CONN_MAX_AGE``, close caches and reset the URL configuration; of
      these a scoring request needs only the database connections looked after, which is done once its answer is
      written (``_Answer.close``). Scoring itself keeps off the database: routes, tokens and models are cached
      per process and re-read by threads of their own.
    """

    def __init__(self, fallback):
        super().__init__()
        from mlops_site.urls import machine_urlpatterns

        self.fallback = fallback
        self.machine_resolver = URLResolver(RegexPattern(r"^/"), machine_urlpatterns)

    def load_middleware(self, is_async=False):
        from django.conf import settings

        handler = convert_exception_to_response(_call_view)
        for path in reversed(settings.SERVING_MIDDLEWARE):
            handler = convert_exception_to_response(import_string(path)(handler))
        self._middleware_chain = handler

    def __call__(self, environ, start_response):
        request = self.request_class(environ)
        try:
            request.resolver_match = self.machine_resolver.resolve(request.path_info)
        except Resolver404:
            return self.fallback(environ, start_response)
        response = self._middleware_chain(request)
        if response.status_code >= 400:
            log_response("%s: %s", response.reason_phrase, request.path, response=response, request=request)
        headers = [*response.items(), *(("Set-Cookie", c.output(header="")) for c in response.cookies.values())]
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        if response.streaming:
            response._handler_class = self.__class__
            response._resource_closers.append(request.close)
            return response  # closed by the server, with Django's signal (no scoring answer streams)
        return _Answer(response.content, request)


def _call_view(request):
    match = request.resolver_match
    return match.func(request, *match.args, **match.kwargs)


class _Answer:
    """A whole answer's bytes for the WSGI server, which calls ``close`` once it has written them: then the
    request's own clean-up (its uploaded files) and the database connections' (what ``request_finished`` would do
    for them), while the caller already has its answer."""

    def __init__(self, content: bytes, request):
        self.content, self.request = content, request

    def __iter__(self):
        yield self.content

    def close(self):
        self.request.close()
        close_old_connections()


def dispatch(site, machine_routes):
    """A WSGI application sending machine routes to ``machine_routes`` and everything else to ``site``."""

    def application(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith(MACHINE_PREFIXES) or path == "/v2":
            return machine_routes(environ, start_response)
        return site(environ, start_response)

    return application


_site = get_wsgi_application()
application = dispatch(_site, MachineRoutesHandler(fallback=_site))
# The URL configuration, and with it every view, is imported now rather than by the first request: under
# `gunicorn --preload` (make run) the workers are forked with it loaded, and no visitor waits for it.
get_resolver().url_patterns  # noqa: B018  (read for its side effect: the import)
