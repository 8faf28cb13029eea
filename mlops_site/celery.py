"""The Celery app. Workers start with ``celery -A mlops_site worker -Q default,training,monitoring``;
deliveries (queue ``notifications``) go to a worker of their own, in threads:
``celery -A mlops_site worker -Q notifications --pool threads``."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlops_site.settings")

app = Celery("mlops_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
