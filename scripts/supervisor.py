"""The supervisor of `make run` (scripts/stack.py): the stack's long-running children, each
restarted when it exits."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def log(message: str) -> None:
    print(f"[stack] {message}", flush=True)


class Supervisor:
    """The stack's long-running children (ASGI, Celery worker, beat). A child that exits is
    started again, after a pause that doubles with each quick death (1 s up to 30 s) and goes
    back to 1 s once the child has stayed up for a minute; each death and restart is logged.
    Nothing a child does stops the stack: only Ctrl-C or SIGTERM to this script (stop_all)."""

    FIRST_PAUSE = 1.0
    LONGEST_PAUSE = 30.0
    STABLE_SECONDS = 60.0

    def __init__(self, commands: dict[str, list[str]], *, pids_file: Path, env_of: dict[str, dict] | None = None):
        self.commands = commands
        self.env_of = env_of or {}
        self.pids_file = pids_file
        self.children: dict[str, subprocess.Popen] = {}
        self.started_at: dict[str, float] = {}
        self.pause: dict[str, float] = dict.fromkeys(commands, self.FIRST_PAUSE)
        self.restart_at: dict[str, float] = {}
        self.restarts: dict[str, int] = dict.fromkeys(commands, 0)

    def start(self, name: str) -> None:
        command = self.commands[name]
        log(f"starting {name}: {' '.join(command[1:])}")
        # Own process group, so Ctrl-C reaches us once and we stop the children in order.
        self.children[name] = subprocess.Popen(command, cwd=ROOT, env=self.env_of.get(name), start_new_session=True)
        self.started_at[name] = time.monotonic()
        self.write_pids()

    def start_all(self) -> None:
        for name in self.commands:
            self.start(name)

    def write_pids(self) -> None:
        """The bench reads the server's own CPU time from /proc of these pids (bench/realtime.py)."""
        self.pids_file.write_text("".join(f"{name} {c.pid}\n" for name, c in self.children.items()))

    def step(self, now: float | None = None) -> None:
        """Notice the children that exited and start each again once its pause is over."""
        now = time.monotonic() if now is None else now
        for name, child in self.children.items():
            if name in self.restart_at or child.poll() is None:
                continue
            lived = now - self.started_at[name]
            if lived >= self.STABLE_SECONDS:
                self.pause[name] = self.FIRST_PAUSE
            wait = self.pause[name]
            self.pause[name] = min(self.LONGEST_PAUSE, wait * 2)
            self.restart_at[name] = now + wait
            log(f"{name} (pid {child.pid}) exited with {child.returncode} after {lived:.1f} s; restart in {wait:.0f} s")
        for name, when in list(self.restart_at.items()):
            if now >= when:
                del self.restart_at[name]
                self.restarts[name] += 1
                self.start(name)

    def stop_all(self, timeout: float = 15) -> None:
        for child in self.children.values():
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in self.children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        self.pids_file.unlink(missing_ok=True)
