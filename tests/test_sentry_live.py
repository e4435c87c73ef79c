"""Sentry on a running server (uvicorn, SENTRY_DSN pointing at a local collector): ordinary
requests, a client that hangs up and refused input send no event; only unexpected server
errors are events. (The audit saw one `RequestAborted` event per request, from Django's
disconnect listener, through sentry-sdk's asyncio integration.)"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


class Collector(BaseHTTPRequestHandler):
    items: list[dict] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        lines = body.split(b"\n")
        for index, line in enumerate(lines[1:], start=1):
            try:
                header = json.loads(line)
            except ValueError:
                continue
            if isinstance(header, dict) and "type" in header and index + 1 < len(lines):
                payload = lines[index + 1]
                Collector.items.append({"type": header["type"], "payload": payload[:2000].decode(errors="replace")})
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def sentry_collector():
    Collector.items = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://public@127.0.0.1:{server.server_address[1]}/1"
    server.shutdown()


def events() -> list[dict]:
    return [item for item in Collector.items if item["type"] == "event"]


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def test_ordinary_requests_and_hang_ups_send_no_sentry_event(live_stack, sentry_collector):
    stack = live_stack("asgi", extra_env={"SENTRY_DSN": sentry_collector, "SENTRY_ENVIRONMENT": "test"})
    statuses = [get(f"{stack.url}/api/asyncapi.json") for _ in range(5)]  # no dependency: 200 under any load
    statuses += [get(f"{stack.url}/api/me"), get(f"{stack.url}/api/no-such-thing")]
    for _ in range(3):  # a client that sends a request and hangs up before the answer
        with socket.create_connection(("127.0.0.1", stack.port)) as raw:
            raw.sendall(b"GET /api/asyncapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    time.sleep(3)  # the SDK sends from a background thread

    assert statuses == [200] * 5 + [401, 404]
    assert events() == [], events()[:2]
