"""The WebSocket protocol as an AsyncAPI 3 document, generated from the pydantic models of
both directions (chat/protocol.py: client → server, chat/outbound.py: server → client) through
pydantic's JSON Schema. Served at /api/asyncapi.json; the WS tests validate every frame the
server sends against it (tests/ws_helpers.py)."""

from functools import cache

from django.conf import settings
from pydantic.json_schema import models_json_schema

from chat import outbound, protocol

REF = "#/components/schemas/{model}"


def _key(direction: str, message_type: str) -> str:
    return f"{direction}.{message_type}"


@cache
def document() -> dict:
    """The AsyncAPI 3.0 document (a dict; JSON-serialisable). Components: one message per
    type and direction (`client.<type>`, `server.<type>`), their payload schemas."""
    inbound = [(model, "validation") for model in protocol.INBOUND]
    sent = [(model, "validation") for model in outbound.OUTBOUND]
    refs, definitions = models_json_schema(inbound + sent, ref_template=REF)
    messages = {}
    for direction, models in (("client", protocol.INBOUND), ("server", outbound.OUTBOUND)):
        for model in models:
            message_type = model.model_fields["type"].annotation.__args__[0]
            messages[_key(direction, message_type)] = {
                "name": message_type,
                "title": f"{message_type} ({'client → server' if direction == 'client' else 'server → client'})",
                "summary": (model.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ") or message_type,
                "contentType": "application/json",
                "payload": refs[(model, "validation")],
            }
    channel_messages = {key: {"$ref": f"#/components/messages/{key}"} for key in messages}

    def operation(direction: str, action: str, summary: str) -> dict:
        return {
            "action": action,
            "channel": {"$ref": "#/channels/realtime"},
            "summary": summary,
            "messages": [
                {"$ref": f"#/channels/realtime/messages/{key}"} for key in messages if key.startswith(direction + ".")
            ],
        }

    site = settings.SITE_URL.split("://", 1)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Rendezvous realtime protocol",
            "version": settings.SPECTACULAR_SETTINGS.get("VERSION", "0.1.0"),
            "description": (
                "One WebSocket per client at /ws/. Every frame is a JSON object with a `type`. "
                "The first client message must be `auth` within 5 s. Each client message may carry "
                "an `id` that the server echoes in its `ack` or `error`. Unknown fields are refused. "
                "Prose: docs/protocol.md."
            ),
        },
        "servers": {
            "site": {
                "host": site[-1].rstrip("/"),
                "protocol": "wss" if site[0] == "https" else "ws",
                "pathname": "/ws/",
                "description": "The ASGI server (SITE_URL)",
            }
        },
        "channels": {
            "realtime": {"address": "/ws/", "title": "The one WebSocket endpoint", "messages": channel_messages}
        },
        "operations": {
            "receiveClientMessages": operation("client", "receive", "Messages a client sends; each is answered"),
            "sendServerEvents": operation("server", "send", "Answers (ack, error) and pushed events"),
        },
        "components": {"messages": messages, "schemas": definitions["$defs"]},
    }


def payload_schema(direction: str, message_type: str) -> dict | None:
    """A JSON Schema (draft 2020-12) for one message's payload, self-contained: the document's
    components come along so its $refs resolve. None for a type the document does not know."""
    doc = document()
    message = doc["components"]["messages"].get(_key(direction, message_type))
    if message is None:
        return None
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **message["payload"],
        "components": doc["components"],
    }
