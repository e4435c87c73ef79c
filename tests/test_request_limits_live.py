"""Request size caps and error bodies on a live uvicorn (DEBUG on, as `make run` runs it).

The holes: a 200 MB multipart upload to /api/me/video was read in full (31 s) before its 400;
a 3 MB JSON body got an HTML 400; a database refusing connections gave an HTML debug page."""

import json
import select
import socket
import time
import urllib.error
import urllib.request

import pytest

from config.body_limit import body_limit
from tests.live_stack import LiveStack, free_port

pytestmark = pytest.mark.django_db(transaction=True)


def raw_request(stack, head: str, body_chunks=(), *, timeout=10.0):
    """Send a request head, then body chunks while the server has not answered; return
    (status, headers+body text, body bytes sent, seconds until the answer)."""
    sock = socket.create_connection(("127.0.0.1", stack.port), timeout=timeout)
    started = time.monotonic()
    sent = 0
    try:
        sock.sendall(head.encode())
        for chunk in body_chunks:
            if select.select([sock], [], [], 0)[0]:
                break  # the server answered already
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer.split(b"\r\n\r\n", 1)[1]) < content_length(answer):
            data = sock.recv(65536)
            if not data:
                break
            answer += data
        elapsed = time.monotonic() - started
    finally:
        sock.close()
    text = answer.decode("latin-1")
    return int(text.split(" ", 2)[1]), text, sent, elapsed


def content_length(answer: bytes) -> int:
    for line in answer.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 1 << 30


def body_of(text: str) -> dict:
    return json.loads(text.split("\r\n\r\n", 1)[1])


def test_a_declared_200_mb_upload_is_refused_before_its_body_is_read(live_stack):
    stack = live_stack("asgi")
    head = (
        "POST /api/me/video HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer nope\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\n"
        f"Content-Length: {200 * 1024 * 1024}\r\n\r\n"
    )
    status, text, _, elapsed = raw_request(stack, head)  # no body byte is ever sent

    assert status == 413
    assert body_of(text)["error"]["code"] == "too_large"
    assert body_of(text)["error"]["max_bytes"] == body_limit("/api/me/video")
    assert elapsed < 1.0


def test_a_chunked_body_is_cut_off_past_the_limit(live_stack):
    stack = live_stack("asgi")
    head = (
        "POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    piece = b"x" * 65536
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    limit = body_limit("/api/auth/login")
    chunks = [chunk] * (20 * limit // len(piece))  # 20 times the limit, if nobody stops us

    status, text, sent, _ = raw_request(stack, head, chunks)

    assert status == 413
    assert body_of(text)["error"]["code"] == "too_large"
    assert sent < 10 * limit  # the rest was never read (socket buffers hold a few MB at most)


def test_a_3_mb_json_body_is_a_json_413(live_stack):
    stack = live_stack("asgi")
    data = json.dumps({"email": "a@example.com", "password": "x" * 3_000_000}).encode()
    head = (
        "POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    )
    # Sent as a client would, in chunks; the server may answer (and close) before the last one.
    chunks = [data[i : i + 65536] for i in range(0, len(data), 65536)]
    status, text, _, _ = raw_request(stack, head, chunks)

    assert status == 413
    assert "content-type: application/json" in text.split("\r\n\r\n", 1)[0].lower()
    assert body_of(text)["error"]["code"] == "too_large"


def test_a_body_under_the_limit_still_reaches_the_view(live_stack):
    stack = live_stack("asgi")
    data = json.dumps({"email": "a@example.com", "password": "x" * 500_000}).encode()
    request = urllib.request.Request(
        f"{stack.url}/api/auth/login", data=data, headers={"Content-Type": "application/json"}, method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=10)

    assert error.value.code == 400  # the serializer's answer, not the cap's
    assert json.loads(error.value.read())["error"]["code"] == "invalid"


def get(url, **headers):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=15) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


class RefusedDatabaseStack(LiveStack):
    """The server's DATABASE_URL points at a port nobody listens on: it starts, but every
    connection is refused. /healthz cannot answer 200, so up means: the port answers."""

    def wait_until_up(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(self.log("asgi")[-2000:])


def test_a_database_that_refuses_connections_is_a_json_503_with_retry_after_in_debug(tmp_path):
    dead = f"postgres://postgres@127.0.0.1:{free_port()}/rendezvous"
    with RefusedDatabaseStack(tmp_path, extra_env={"DATABASE_URL": dead, "DEBUG": "1"}) as stack:
        login = urllib.request.Request(
            f"{stack.url}/api/auth/login",
            data=json.dumps({"email": "a@example.com", "password": "long-enough-password"}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            urllib.request.urlopen(login, timeout=15)
        except urllib.error.HTTPError as error:
            status, headers, body = error.code, error.headers, error.read()
        me = get(f"{stack.url}/api/me", Authorization="Bearer some-token")
        unknown = get(f"{stack.url}/api/no-such-endpoint")

    assert status == 503
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "service_unavailable"
    assert int(headers["Retry-After"]) > 0
    assert me[0] == 503 and json.loads(me[2])["error"]["code"] == "service_unavailable"
    assert "retry-after" in {key.lower() for key in me[1]}
    assert unknown[0] == 404 and json.loads(unknown[2])["error"]["code"] == "not_found"
    assert b"Traceback" not in body + me[2] + unknown[2]


def test_a_socket_to_a_path_other_than_ws_is_refused_at_the_handshake_without_a_traceback(live_stack):
    stack = live_stack("asgi")
    head = (
        "GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    status, _, _, _ = raw_request(stack, head)
    assert status == 403
    log = stack.log("asgi")
    assert "No route found" not in log and "Traceback" not in log
