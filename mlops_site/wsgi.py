import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlops_site.settings")
application = get_wsgi_application()
# The URL configuration, and with it every view, is imported now rather than by the first request: under
# `gunicorn --preload` (make run) the workers are forked with it loaded, and no visitor waits for it.
get_resolver().url_patterns  # noqa: B018  (read for its side effect: the import)
