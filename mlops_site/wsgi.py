"""The WSGI application: the site, with machine-to-machine routes answered by a handler of their own.

Scoring (``/serve/…``, ``/v2/…``) is called by programs with a token, never by a browser with a
session: sessions, messages, CSRF, login lockouts, HTML headers and the rest of ``settings.MIDDLEWARE`` do
nothing for them, yet cost about 130 µs a request, a fifth of a one-row prediction. Those paths go to a Django
handler built with ``settings.SERVING_MIDDLEWARE`` instead; the views, URLs and settings are the same ones.
Django's test client and live server use the whole stack for every path, so each view is also tested with it.
"""

import os

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver
from django.utils.module_loading import import_string

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlops_site.settings")

# Routes whose callers are programs, by the start of the path.
MACHINE_PREFIXES = ("/serve/", "/v2/")


class MachineRoutesHandler(WSGIHandler):
    """Django's handler with the middleware of ``settings.SERVING_MIDDLEWARE`` around the same views."""

    def load_middleware(self, is_async=False):
        from django.conf import settings

        handler = convert_exception_to_response(self._get_response)
        self._view_middleware, self._template_response_middleware, self._exception_middleware = [], [], []
        for path in reversed(settings.SERVING_MIDDLEWARE):
            middleware = import_string(path)(handler)
            if hasattr(middleware, "process_view"):
                self._view_middleware.insert(0, middleware.process_view)
            if hasattr(middleware, "process_template_response"):
                self._template_response_middleware.append(middleware.process_template_response)
            if hasattr(middleware, "process_exception"):
                self._exception_middleware.append(middleware.process_exception)
            handler = convert_exception_to_response(middleware)
        self._middleware_chain = handler


def dispatch(site, machine_routes):
    """A WSGI application sending machine routes to ``machine_routes`` and everything else to ``site``."""

    def application(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith(MACHINE_PREFIXES) or path == "/v2":
            return machine_routes(environ, start_response)
        return site(environ, start_response)

    return application


application = dispatch(get_wsgi_application(), MachineRoutesHandler())
# The URL configuration, and with it every view, is imported now rather than by the first request: under
# `gunicorn --preload` (make run) the workers are forked with it loaded, and no visitor waits for it.
get_resolver().url_patterns  # noqa: B018  (read for its side effect: the import)
