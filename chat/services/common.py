"""What the chat services share: argument checks and the invite pushes."""

import json
import uuid

from chat.errors import InvalidMessage
from chat.models import MAX_CALL_SECONDS, MIN_CALL_SECONDS
from config.realtime import send_to_users


def as_uuid(value, error: type[Exception]) -> uuid.UUID:
    """A client-sent id as a UUID, or `error` (made-up ids look like missing ones)."""
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError) as exc:
        raise error() from exc


def call_seconds(value) -> int:
    """A client's call length: a whole number of seconds within the allowed range."""
    try:
        seconds = int(value)
    except (TypeError, ValueError) as exc:
        raise InvalidMessage("seconds must be a whole number.") from exc
    if not MIN_CALL_SECONDS <= seconds <= MAX_CALL_SECONDS:
        raise InvalidMessage(f"seconds must be between {MIN_CALL_SECONDS} and {MAX_CALL_SECONDS}.")
    return seconds


def from_jsonb(value):
    """A jsonb column from a raw cursor (Django's connection loads jsonb as text)."""
    return json.loads(value) if isinstance(value, str) else value


def notify_invites(payloads, event_type: str) -> None:
    """Invite payloads as a PL/pgSQL function returns them (jsonb list): each to both sides."""
    for payload in from_jsonb(payloads) or []:
        send_to_users([payload["from"], payload["to"]], {"type": event_type, **payload})


def notify_expired(payloads) -> None:
    """The one way an expiry is told: `call.expired` to both sides of each invite (payloads as
    events.invite_payload makes them, or as rdv_expire_stale_invites returns them)."""
    notify_invites(payloads, "call.expired")
