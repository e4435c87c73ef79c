"""`make run`'s supervisor (scripts/stack.py Supervisor): a child that dies is started again,
with a pause that grows over quick deaths, and logged; the others are left alone; only
stop_all (Ctrl-C or SIGTERM to the script) stops them. Real processes, killed with SIGKILL."""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def stack_module():
    spec = importlib.util.spec_from_file_location("stack_script", ROOT / "scripts" / "stack.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sleeper() -> list[str]:
    return [sys.executable, "-c", "import time; time.sleep(120)"]


def wait_for(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_killed_child_is_restarted_with_backoff_and_logged_and_the_others_keep_running(
    stack_module, tmp_path, capsys
):
    supervisor = stack_module.Supervisor(
        {"asgi": sleeper(), "worker": sleeper(), "beat": sleeper()}, pids_file=tmp_path / "stack.pids"
    )
    supervisor.start_all()
    try:
        first = {name: child.pid for name, child in supervisor.children.items()}
        os.killpg(first["beat"], signal.SIGKILL)
        wait_for(lambda: supervisor.children["beat"].poll() is not None)

        supervisor.step()
        assert supervisor.children["beat"].pid == first["beat"], "restarted before its pause"
        supervisor.step(now=time.monotonic() + supervisor.FIRST_PAUSE)
        assert supervisor.children["beat"].pid != first["beat"]
        assert supervisor.children["beat"].poll() is None
        assert {n: c.pid for n, c in supervisor.children.items() if n != "beat"} == {
            n: p for n, p in first.items() if n != "beat"
        }
        assert f"beat {supervisor.children['beat'].pid}" in (tmp_path / "stack.pids").read_text()
        log = capsys.readouterr().out
        assert f"beat (pid {first['beat']}) exited with -9" in log and "restart in 1 s" in log

        # A second quick death waits twice as long.
        os.killpg(supervisor.children["beat"].pid, signal.SIGKILL)
        wait_for(lambda: supervisor.children["beat"].poll() is not None)
        supervisor.step()
        assert "restart in 2 s" in capsys.readouterr().out
        assert supervisor.restarts["beat"] == 1
    finally:
        supervisor.stop_all(timeout=5)
    assert all(child.poll() is not None for child in supervisor.children.values())
    assert not (tmp_path / "stack.pids").exists()


def test_stop_all_ends_every_child_and_its_process_group(stack_module, tmp_path):
    grandchild = [sys.executable, "-c", "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', "
                  "'import time; time.sleep(120)']); time.sleep(120)"]  # fmt: skip
    supervisor = stack_module.Supervisor({"worker": grandchild}, pids_file=tmp_path / "stack.pids")
    supervisor.start_all()
    parent = psutil.Process(supervisor.children["worker"].pid)
    wait_for(lambda: parent.children())
    kids = parent.children()
    supervisor.stop_all(timeout=5)
    assert supervisor.children["worker"].poll() is not None
    psutil.wait_procs(kids, timeout=5)
    assert not any(kid.is_running() and kid.status() != psutil.STATUS_ZOMBIE for kid in kids)
