"""The Celery app: broker on Redis (losable), every fact it touches lives in PostgreSQL."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("rendezvous")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

from config.metrics import connect_celery  # noqa: E402

connect_celery(app)  # task runs, failures, run time (README → Observability)
