"""The Celery app: broker on Redis (losable), every fact it touches lives in PostgreSQL."""

import os

from celery import Celery, bootsteps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("rendezvous")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

from config.metrics import connect_celery  # noqa: E402

connect_celery(app)  # task runs, failures, run time (README → Observability)


class BeatInThread(bootsteps.StartStopStep):
    """Beat as a thread of the worker when CELERY_BEAT_THREAD=1 (the small host's stack,
    scripts/stack.py STACK_PROFILE=small): no process of its own, so the schedule costs a
    thread rather than a second copy of the app. The schedule file is the worker's --schedule.
    Only one process may run beat: the small stack runs one worker and no separate beat."""

    label = "Beat (thread)"

    def __init__(self, w, **kwargs):
        self.enabled = os.environ.get("CELERY_BEAT_THREAD", "") == "1"
        super().__init__(w, **kwargs)

    def create(self, w):
        from celery.beat import EmbeddedService

        return EmbeddedService(w.app, thread=True, schedule_filename=w.schedule_filename, scheduler_cls=w.scheduler)


app.steps["worker"].add(BeatInThread)
