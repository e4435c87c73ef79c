"""The small host's stack (STACK_PROFILE=small, docs/deploy.md): one ASGI process, one Celery
process that runs its tasks itself with beat as one of its threads, and no module that only an
upload needs (FFmpeg, numpy) loaded at start-up. The default stack keeps its processes."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def stack_module():
    spec = importlib.util.spec_from_file_location("stack_script_profile", ROOT / "scripts" / "stack.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_the_small_profile_runs_one_asgi_process_and_one_celery_process_with_beat_inside(stack_module, monkeypatch):
    monkeypatch.delenv("ASGI_WORKERS", raising=False)
    commands = stack_module.stack_commands("127.0.0.1", "8000", "small")
    assert set(commands) == {"asgi", "worker"}  # no beat process
    assert option(commands["asgi"], "--workers") == "1"
    worker = commands["worker"]
    assert option(worker, "--pool") == "solo" and "--concurrency" not in worker
    assert "-B" not in worker and option(worker, "--schedule").endswith("celerybeat-schedule")
    assert option(worker, "-Q") == "celery,screening"
    environments = stack_module.child_environments("small", {"X": "1"})
    assert environments["worker"]["CELERY_BEAT_THREAD"] == "1"
    assert environments["asgi"]["DB_STATEMENT_TIMEOUT"] == "5"
    assert environments["asgi"]["MALLOC_ARENA_MAX"] == environments["worker"]["MALLOC_ARENA_MAX"] == "2"


def test_the_default_profile_keeps_two_asgi_workers_a_worker_with_two_children_and_beat_apart(
    stack_module, monkeypatch
):
    monkeypatch.delenv("ASGI_WORKERS", raising=False)
    monkeypatch.delenv("STACK_PROFILE", raising=False)
    commands = stack_module.stack_commands("127.0.0.1", "8000", stack_module.stack_profile())
    assert set(commands) == {"asgi", "worker", "beat"}
    assert option(commands["asgi"], "--workers") == "2"
    assert option(commands["worker"], "--concurrency") == "2"
    assert "CELERY_BEAT_THREAD" not in stack_module.child_environments("default", {}).get("worker", {})


def test_an_unknown_profile_is_refused_not_guessed(stack_module, monkeypatch):
    monkeypatch.setenv("STACK_PROFILE", "tiny")
    with pytest.raises(SystemExit, match="tiny"):
        stack_module.stack_profile()


def test_the_app_starts_without_loading_ffmpeg_or_numpy():
    """PyAV (~20 MB) and imagehash/numpy (~16 MB) are imported by the first upload, not by
    every process at start-up."""
    code = (
        "import sys, django; django.setup(); import config.asgi, config.celery; "
        "from django.urls import get_resolver; get_resolver().url_patterns; "
        "print(sorted({'av', 'numpy', 'imagehash'} & {m.split('.')[0] for m in sys.modules}))"
    )
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings", SECRET_KEY="x", DEBUG="0")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_beat_in_a_thread_sends_the_schedule_from_the_worker_process_with_no_child(tmp_path):
    """A real solo worker with CELERY_BEAT_THREAD=1 sends the due sweeps itself (beat: Starting,
    Sending due task) and has no child process. It consumes a queue of its own and publishes to
    the test Redis, so it runs nothing of anyone else's."""
    broker = os.environ.get("REDIS_TEST_URL") or os.environ["REDIS_URL"]
    env = dict(os.environ, CELERY_BEAT_THREAD="1", CELERY_BROKER_URL=broker, DEBUG="0")
    env.setdefault("SECRET_KEY", "x")
    log = tmp_path / "worker.log"
    command = [str(Path(sys.executable).parent / "celery"), "-A", "config", "worker", "--pool", "solo", "-l", "info"]
    command += ["-Q", f"test-{uuid.uuid4().hex[:8]}", "--schedule", str(tmp_path / "schedule"), "-n", "beat-test@%h"]
    with log.open("w") as out:
        worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "Sending due task sweep-rooms" not in log.read_text():
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert "beat: Starting" in log.read_text()
        assert psutil.Process(worker.pid).children(recursive=True) == []
    finally:
        worker.terminate()
        worker.wait(timeout=30)
