"""What the chat models share: the two chat modes and the range of a call's length."""

from django.db import models
from django.db.models import Q

MIN_CALL_SECONDS = 60
MAX_CALL_SECONDS = 1800


class ChatMode(models.TextChoices):
    VIDEO = "video"
    TEXT = "text"


def _call_seconds_in_range(field: str) -> Q:
    return Q(**{f"{field}__gte": MIN_CALL_SECONDS, f"{field}__lte": MAX_CALL_SECONDS})
