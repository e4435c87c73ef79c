from . import redis_version  # noqa: F401 - before any Redis connection (see the module)
from .celery import app as celery_app

__all__ = ("celery_app",)
