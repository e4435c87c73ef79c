"""`make run`'s console and its start (scripts/stack.py run), on the test database: "up" is
printed only once the port answers; a second `make run` in the same folder refuses at once with
a sentence; one line per event (a refused request once, no warning about WhiteNoise's static
files, no uvicorn lifespan probe, an email sent by the worker printed as it is, not as WARNING
lines)."""

from __future__ import annotations

import fcntl
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from tests.api_support import make_member, signed_in_with_token
from tests.factories import UserFactory
from tests.live_stack import ROOT, LiveStack, free_port

UP = "Rendezvous is up"


def folder_is_free() -> bool:
    """No developer's `make run` holds this folder (the test's own would be refused)."""
    lock = ROOT / "var" / "stack.lock"
    if not lock.exists():
        return True
    with lock.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
    return True


class Console:
    """A `stack.py run` child whose output is collected line by line, with the time each came."""

    def __init__(self, env: dict, port: int):
        self.port = port
        self.lines: list[tuple[float, str]] = []
        self.process = subprocess.Popen(
            [sys.executable, "scripts/stack.py", "run"],
            cwd=ROOT,
            env={**env, "PORT": str(port)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            answering = port_answers(self.port) if UP in line else None
            self.lines.append((time.monotonic(), line.rstrip("\n"), answering))

    def wait_for(self, text: str, timeout: float = 120) -> tuple:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for entry in self.lines:
                if text in entry[1]:
                    return entry
            if self.process.poll() is not None and not self.reader.is_alive():
                break
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never came:\n{self.text()}")

    def text(self) -> str:
        return "\n".join(entry[1] for entry in self.lines)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.reader.join(timeout=5)


def port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def get(url: str, token: str | None = None, data: bytes | None = None) -> int:
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.timeout(240)
@pytest.mark.django_db(transaction=True)
def test_make_run_says_up_when_it_answers_refuses_a_second_run_and_logs_each_event_once(tmp_path):
    if not folder_is_free():
        pytest.skip("a `make run` is up in this folder; the test starts its own")
    env = LiveStack(tmp_path).env
    env.pop("LOG_LEVEL", None)
    env["EMAIL_URL"] = "consolemail://"
    alice = make_member(UserFactory(name="Alice"), "alice@usc.edu")
    _, token = signed_in_with_token(alice)

    first = Console(env, free_port())
    try:
        _, _, answering = first.wait_for(UP)
        assert answering, "printed 'up' before the port answered:\n" + first.text()

        second_started = time.monotonic()
        second = subprocess.run(
            [sys.executable, "scripts/stack.py", "run"],
            cwd=ROOT,
            env={**env, "PORT": str(free_port())},
            capture_output=True,
            text=True,
            timeout=60,
        )
        said = second.stdout + second.stderr
        assert second.returncode == 1, said
        assert time.monotonic() - second_started < 15, said
        assert "already running in this folder" in said, said
        assert "migrations" not in said and "[stack] starting" not in said and UP not in said, said

        base = f"http://127.0.0.1:{first.port}"
        assert get(f"{base}/api/me") == 401
        assert get(f"{base}/static/rdv/app.js") == 200
        assert get(f"{base}/api/me/export", token, data=b"") == 202
        first.wait_for("Subject: Your Rendezvous data export", timeout=60)
        time.sleep(1)
    finally:
        first.stop()
    text = first.text()
    assert sum("/api/me" in line and "export" not in line for _, line, _ in first.lines) == 1, text
    assert "StreamingHttpResponse" not in text, text
    assert "'lifespan' protocol appears unsupported" not in text, text
    assert "ForkPoolWorker" not in text, text
    assert sum(UP in line for _, line, _ in first.lines) == 1, text


def load_stack_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("stack_script", ROOT / "scripts" / "stack.py")
    stack = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stack)
    return stack


def test_without_apt_a_missing_program_skips_its_tests_in_one_line(monkeypatch, capsys, tmp_path):
    stack = load_stack_script()
    monkeypatch.setattr(stack, "apt_available", lambda: False)
    monkeypatch.delenv("RDV_NO_APT", raising=False)
    stack.ensure_debian_package(tmp_path / "chromium", "chromium", "the browser tests")
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and "apt-get is not available" in lines[0] and "skipping the browser tests" in lines[0]
    import os

    assert os.environ["RDV_NO_APT"] == "1"  # tests/browser.py then skips instead of failing
