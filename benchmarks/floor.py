"""The bare-Django floor for benchmarks/serving.py: one view that answers constant JSON, no middleware, no database,
no app. Served by gunicorn under the same settings as ours (``gunicorn benchmarks.floor:application``), it measures
what Django and gunicorn alone cost per request on this machine: what our serving can at best approach.

The view ignores the request body: it is sent the same bytes as ours, and reads none of them.
"""

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import JsonResponse
from django.urls import path

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-floor",  # noqa: S106  (signs nothing: no sessions, no forms)
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[],
    MIDDLEWARE=[],
    DATABASES={},
    USE_TZ=True,
)

ANSWER = {"predictions": ["yes"], "probabilities": [0.5]}


def constant(request, model, environment):
    return JsonResponse(ANSWER)


urlpatterns = [path("serve/<str:model>/<slug:environment>/invocations", constant)]
application = get_wsgi_application()
