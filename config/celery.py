"""The Celery app: broker on Redis (losable), every fact it touches lives in PostgreSQL."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("rendezvous")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
