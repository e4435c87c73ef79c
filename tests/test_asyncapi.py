"""The AsyncAPI 3 document of the WebSocket protocol (/api/asyncapi.json, chat/asyncapi.py):
generated from the pydantic models of both directions, every reference resolves, and the frame
checker the WS suite runs at every `ws` teardown (tests/ws_helpers.py) refuses what the
document does not describe."""

import json
from pathlib import Path

import pytest
from django.test import Client

from chat import outbound, protocol
from chat.asyncapi import document
from tests.ws_helpers import asyncapi_mismatches

ROOM = "6f1c1d1e-9a43-4d59-9a7e-2f6d0c1b2a3e"


def resolve(doc: dict, ref: str):
    node = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def refs(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


@pytest.mark.django_db
def test_served_document_is_asyncapi_3_with_every_message_of_both_directions():
    answer = Client().get("/api/asyncapi.json")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/json"
    served = json.loads(answer.content)
    assert served == json.loads(json.dumps(document()))
    assert served["asyncapi"] == "3.0.0"
    assert served["channels"]["realtime"]["address"] == "/ws/"
    messages = served["components"]["messages"]
    assert {m["name"] for k, m in messages.items() if k.startswith("client.")} == set(protocol.TYPES)
    assert {m["name"] for k, m in messages.items() if k.startswith("server.")} == set(outbound.TYPES)
    operations = served["operations"]
    assert operations["receiveClientMessages"]["action"] == "receive"
    assert operations["sendServerEvents"]["action"] == "send"
    assert len(operations["sendServerEvents"]["messages"]) == len(outbound.OUTBOUND)
    for ref in set(refs(served)):
        assert resolve(served, ref) is not None, ref


def test_inbound_schemas_carry_the_limits_the_server_validates():
    schemas = document()["components"]["schemas"]
    invite = schemas["CallInvite"]
    assert invite["additionalProperties"] is False
    assert invite["properties"]["seconds"]["minimum"] == 60 and invite["properties"]["seconds"]["maximum"] == 1800
    assert schemas["ChatMessage"]["properties"]["text"]["maxLength"] == 500


def test_the_frame_checker_accepts_what_the_server_sends_and_refuses_the_rest():
    good = [
        {"type": "ack", "id": "1", "for": "ping"},
        {"type": "room.ended", "room": ROOM, "reason": "timer"},
        {"type": "error", "id": None, "code": "malformed", "message": "That is not valid JSON."},
        {"type": "rtc.ice", "room": ROOM, "from": ROOM, "candidate": None},
    ]
    assert asyncapi_mismatches(good) == []
    bad = [
        {"type": "room.exploded", "room": ROOM},  # not in the document
        {"type": "room.ended", "room": ROOM, "reason": "boredom"},  # not one of the reasons
        {"type": "room.ended", "room": "not-a-uuid", "reason": "timer"},  # format
        {"type": "room.ended", "room": ROOM},  # a required field missing
        {"type": "ack", "id": "1", "for": "ping", "surprise": 1},  # a field the document does not name
        {"type": "me.metrics", "timer_total_seconds": -1, "session_count": 0, "successful_sessions": 0}
        | {"qr_unlocked": False, "access_status": "paid"},
    ]
    problems = asyncapi_mismatches(bad)
    for frame in bad:
        assert asyncapi_mismatches([frame]) != [], frame
    assert len(problems) >= len(bad)


def test_document_is_valid_against_the_asyncapi_3_specification_schema():
    """The official AsyncAPI 3.0.0 JSON Schema (tests/data, from @asyncapi/specs)."""
    from jsonschema import validators

    spec = json.loads((Path(__file__).parent / "data" / "asyncapi-3.0.0.schema.json").read_text())
    validator = validators.validator_for(spec)(spec)
    served = json.loads(json.dumps(document()))
    assert [e.message for e in validator.iter_errors(served)] == []
    broken = json.loads(json.dumps(served))
    broken["operations"]["sendServerEvents"]["action"] = "publish"  # AsyncAPI 2's word, not 3's
    assert list(validator.iter_errors(broken))
