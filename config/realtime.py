"""Post-commit pushes to users' sockets. Events are hints; the database is the truth.

Only services call this, and only after commit: a rolled-back action sends nothing."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def user_group(user_id) -> str:
    return f"user.{user_id}"


def _send_now(user_ids, event: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for user_id in user_ids:
        async_to_sync(layer.group_send)(user_group(user_id), {"type": "push", "event": event})


def send_to_users(user_ids, event: dict) -> None:
    """Deliver `event` to every socket of these users once the current transaction commits."""
    ids = [str(u) for u in user_ids]
    transaction.on_commit(lambda: _send_now(ids, event), robust=True)
