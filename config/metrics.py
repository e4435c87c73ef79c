"""Prometheus metrics (README → Observability): one registry across every process of the stack.

With PROMETHEUS_MULTIPROC_DIR set (scripts/stack.py sets it to var/prometheus for `make run`,
emptied at start), every uvicorn worker and Celery process writes its samples to files there
and a scrape of /metrics on any worker adds them all up (prometheus-client's multiprocess mode).
Without it (a single process, the test suite) the process's default registry is served.

Families, all named rdv_*: HTTP requests by view and status (MetricsMiddleware); WebSocket
sockets, frames in/out by type, close codes (MeteredConsumer, wrapped around the consumer in
chat/routing.py); the hot operations (auth, invite, accept, message, end); Celery tasks
(signals, connect_celery()); and, computed at scrape time from PostgreSQL and Redis with cheap
queries, rooms live, invites pending, users online, database connections and Celery's queue depth.

The imports inside functions are deliberate: config.celery loads this module before Django's
apps are ready, so what needs models, settings or the multiprocess client is imported where it
is used (this is the wiring layer, not a cycle dodge: docs/architecture.md, "Layers").
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter("rdv_http_requests", "HTTP requests by view and status.", ["view", "method", "status"])
HTTP_LATENCY = Histogram(
    "rdv_http_request_duration_seconds", "HTTP latency by view.", ["view"], buckets=LATENCY_BUCKETS
)

WS_OPEN = Gauge("rdv_ws_connections_open", "WebSocket connections open.", multiprocess_mode="livesum")
WS_CONNECTIONS = Counter("rdv_ws_connections", "WebSocket connections accepted.")
WS_CLOSES = Counter("rdv_ws_closes", "WebSocket closes by close code.", ["code"])
WS_IN = Counter("rdv_ws_messages_in", "WebSocket frames received by type and outcome.", ["type", "outcome"])
WS_OUT = Counter("rdv_ws_messages_out", "WebSocket frames sent by type.", ["type"])
WS_LATENCY = Histogram(
    "rdv_ws_message_duration_seconds", "Handling time of a received frame by type.", ["type"], buckets=LATENCY_BUCKETS
)

# The hot operations: a counter by outcome and a latency histogram each.
OPERATIONS = {"auth": "auth", "call.invite": "invite", "call.accept": "accept", "chat.message": "message"}
OPERATIONS["room.end"] = "end"
OPERATION_CALLS = Counter(
    "rdv_operations", "Hot operations by outcome (ok, refused, failed).", ["operation", "outcome"]
)
OPERATION_LATENCY = Histogram(
    "rdv_operation_duration_seconds", "Hot operation latency.", ["operation"], buckets=LATENCY_BUCKETS
)

CELERY_TASKS = Counter("rdv_celery_tasks", "Celery task runs by task and outcome.", ["task", "outcome"])
CELERY_LATENCY = Histogram(
    "rdv_celery_task_duration_seconds", "Celery task run time.", ["task"], buckets=LATENCY_BUCKETS
)

# Close codes we label by their number; any other one a client sends counts as "other".
KNOWN_CLOSE_CODES = {1000, 1001, 1005, 1006, 1011, 1012, 4001, 4003}

# What the scrape-time collector exports (gauges computed when /metrics is read).
SCRAPE_FAMILIES = (
    "rdv_rooms_live",
    "rdv_invites_pending",
    "rdv_users_online",
    "rdv_db_connections",
    "rdv_db_connections_waiting",
    "rdv_db_max_connections",
    "rdv_redis_connected_clients",
    "rdv_redis_blocked_clients",
    "rdv_celery_queue_depth",
    "rdv_scrape_errors",
)


def multiproc_dir() -> Path | None:
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(value) if value else None


def exported_names() -> set[str]:
    """Every sample name /metrics can carry (the dashboard test checks against these)."""
    names = set(SCRAPE_FAMILIES)
    for metric in (HTTP_REQUESTS, HTTP_LATENCY, WS_OPEN, WS_CONNECTIONS, WS_CLOSES, WS_IN, WS_OUT, WS_LATENCY):
        names |= _sample_names(metric)
    for metric in (OPERATION_CALLS, OPERATION_LATENCY, CELERY_TASKS, CELERY_LATENCY):
        names |= _sample_names(metric)
    return names


def _sample_names(metric) -> set[str]:
    name = metric._name
    kind = metric._type
    if kind == "counter":
        return {name + "_total", name + "_created"}
    if kind == "histogram":
        return {name + "_bucket", name + "_sum", name + "_count", name + "_created"}
    return {name}


# --- HTTP ----------------------------------------------------------------------------------


class MetricsMiddleware:
    """Counts every request by its URL pattern's name (never the raw path: bounded labels)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name or match.route or "unnamed") if match else "unresolved"
        count_request(view, request.method, response.status_code, time.perf_counter() - started)
        return response


def count_request(view: str, method: str | None, status: int, seconds: float) -> None:
    """One answered request in rdv_http_* (also /healthz answered before Django, config.health_asgi)."""
    HTTP_REQUESTS.labels(view=view, method=_method(method), status=str(status)).inc()
    HTTP_LATENCY.labels(view=view).observe(seconds)


def _method(method: str | None) -> str:
    return method if method in {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"} else "other"


# --- WebSocket -----------------------------------------------------------------------------


class MeteredConsumer:
    """Mixin in front of the realtime consumer (chat/routing.py): counts sockets, frames and
    close codes, and times every handled frame, without touching the consumer's own code.
    A frame's outcome is read from what the consumer answered: an `error` frame with
    code server_error is "failed", any other error or a close is "refused", else "ok"."""

    _metered_open = False
    _metered_reply: str | None = None

    async def connect(self):
        from config.client_ip import client_ip_from_scope
        from config.logs import bind

        bind(ip=client_ip_from_scope(self.scope))
        WS_OPEN.inc()
        WS_CONNECTIONS.inc()
        self._metered_open = True
        await super().connect()

    async def disconnect(self, code):
        if self._metered_open:
            WS_OPEN.dec()
            self._metered_open = False
        label = code if isinstance(code, int) and code in KNOWN_CLOSE_CODES else "other"
        WS_CLOSES.labels(code=str(label)).inc()
        await super().disconnect(code)

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        if not isinstance(kind, str) or not hasattr(self, "on_" + kind.replace(".", "_")):
            kind = "invalid"
        self._metered_reply = None
        _bind_log_context(self)
        started = time.perf_counter()
        try:
            await super().receive_json(content, **kwargs)
        finally:
            elapsed = time.perf_counter() - started
            outcome = {None: "ok", "server_error": "failed"}.get(self._metered_reply, "refused")
            WS_IN.labels(type=kind, outcome=outcome).inc()
            WS_LATENCY.labels(type=kind).observe(elapsed)
            if kind in OPERATIONS:
                OPERATION_CALLS.labels(operation=OPERATIONS[kind], outcome=outcome).inc()
                OPERATION_LATENCY.labels(operation=OPERATIONS[kind]).observe(elapsed)
            _bind_log_context(self)

    async def send_json(self, content, close=False):
        kind = content.get("type") if isinstance(content, dict) else None
        WS_OUT.labels(type=kind if isinstance(kind, str) and len(kind) <= 40 else "other").inc()
        if kind == "error":
            self._metered_reply = str(content.get("code"))
        elif kind == "closing":
            self._metered_reply = "closing"
        await super().send_json(content, close=close)


def _bind_log_context(consumer) -> None:
    from config.logs import bind

    user = getattr(consumer, "user", None)
    bind(user_id=getattr(user, "pk", None))


def metered(consumer_class):
    """The consumer class with MeteredConsumer in front of it."""
    return type(consumer_class.__name__, (MeteredConsumer, consumer_class), {"__module__": consumer_class.__module__})


# --- Celery --------------------------------------------------------------------------------

_task_started: dict[str, float] = {}


def connect_celery(app) -> None:
    """Task runs, failures and run time through Celery's signals (config/celery.py)."""
    from celery import signals

    @signals.task_prerun.connect(weak=False)
    def _prerun(task_id=None, task=None, **_):
        _task_started[task_id] = time.perf_counter()

    @signals.task_postrun.connect(weak=False)
    def _postrun(task_id=None, task=None, state=None, **_):
        name = getattr(task, "name", "unknown")
        started = _task_started.pop(task_id, None)
        if started is not None:
            CELERY_LATENCY.labels(task=name).observe(time.perf_counter() - started)
        CELERY_TASKS.labels(task=name, outcome="ok" if state == "SUCCESS" else "failed").inc()

    @signals.worker_process_shutdown.connect(weak=False)
    def _shutdown(pid=None, **_):
        mark_dead(pid or os.getpid())


# --- Scrape ---------------------------------------------------------------------------------


def mark_dead(pid: int) -> None:
    if multiproc_dir() is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def mark_dead_workers() -> None:
    """Drop the live gauges of processes that are gone (a crashed or restarted worker never
    said goodbye): their open-socket counts must not be added any more."""
    folder = multiproc_dir()
    if folder is None or not folder.is_dir():
        return
    for path in folder.glob("gauge_live*_*.db"):
        try:
            pid = int(path.stem.rsplit("_", 1)[1])
        except ValueError:
            continue
        if not _alive(pid):
            mark_dead(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LiveCollector:
    """Gauges read when /metrics is scraped: cheap counts from PostgreSQL and Redis. A
    dependency that does not answer costs one rdv_scrape_errors, never the scrape."""

    def collect(self):
        errors = GaugeMetricFamily("rdv_scrape_errors", "Scrape-time sources that failed.", labels=["source"])
        for name, source in (("database", self._database), ("redis", self._redis)):
            try:
                yield from source()
                errors.add_metric([name], 0)
            except Exception:  # noqa: BLE001 - a scrape reports what it can
                errors.add_metric([name], 1)
        yield errors

    def _database(self):
        from django.db import connection
        from django.utils import timezone

        from chat.models import ActiveRoom, CallInvite

        rooms = ActiveRoom.objects.exclude(status=ActiveRoom.Status.ENDED).count()
        invites = CallInvite.objects.filter(status=CallInvite.Status.PENDING, expires_at__gt=timezone.now()).count()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT coalesce(state, 'unknown'), count(*), count(*) FILTER (WHERE wait_event_type = 'Lock')"
                " FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'"
                " GROUP BY 1"
            )
            rows = cursor.fetchall()
            cursor.execute("SELECT setting::int FROM pg_settings WHERE name = 'max_connections'")
            max_connections = cursor.fetchone()[0]
        yield GaugeMetricFamily("rdv_rooms_live", "Rooms not ended (PostgreSQL).", value=rooms)
        yield GaugeMetricFamily("rdv_invites_pending", "Call invites pending and not expired.", value=invites)
        by_state = GaugeMetricFamily(
            "rdv_db_connections", "PostgreSQL connections to our database by state.", labels=["state"]
        )
        for state in ("active", "idle", "idle in transaction"):
            by_state.add_metric([state], sum(n for s, n, _ in rows if s == state))
        yield by_state
        yield GaugeMetricFamily(
            "rdv_db_connections_waiting", "Connections waiting on a lock.", value=sum(w for _, _, w in rows)
        )
        yield GaugeMetricFamily("rdv_db_max_connections", "PostgreSQL max_connections.", value=max_connections)

    def _redis(self):
        from django.conf import settings

        from chat import presence
        from config.ratelimit import redis_client

        client = redis_client()
        try:
            online = client.zcount(presence.ONLINE, time.time(), "+inf")
        except AttributeError:  # the presence module keeps its users elsewhere
            online = len(presence.online_ids())
        clients = client.info("clients")
        broker = _broker_client(settings.CELERY_BROKER_URL, client)
        depth = sum(broker.llen(queue) for queue in _queue_names())
        yield GaugeMetricFamily("rdv_users_online", "Users with a live socket (Redis presence).", value=online)
        yield GaugeMetricFamily(
            "rdv_redis_connected_clients", "Clients connected to Redis.", value=clients.get("connected_clients", 0)
        )
        yield GaugeMetricFamily(
            "rdv_redis_blocked_clients",
            "Redis clients blocked (BZPOPMIN etc.).",
            value=clients.get("blocked_clients", 0),
        )
        yield GaugeMetricFamily("rdv_celery_queue_depth", "Tasks waiting in Celery's queue.", value=depth)


def _queue_names() -> list[str]:
    from django.conf import settings

    return [getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")]


_broker_clients: dict[str, object] = {}


def _broker_client(url: str, fallback):
    from django.conf import settings

    if url == settings.REDIS_URL:
        return fallback
    if url not in _broker_clients:
        import redis

        _broker_clients[url] = redis.Redis.from_url(url, socket_timeout=2)
    return _broker_clients[url]


def render() -> bytes:
    """The exposition text: the whole stack's samples, then the scrape-time gauges."""
    folder = multiproc_dir()
    if folder is not None:
        from prometheus_client import multiprocess

        mark_dead_workers()
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        from prometheus_client import REGISTRY

        body = generate_latest(REGISTRY)
    live = CollectorRegistry(auto_describe=False)
    live.register(LiveCollector())
    return body + generate_latest(live)


def _given_token(request) -> str:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else request.GET.get("token", "")


def has_metrics_token(request) -> bool:
    """The request carries METRICS_TOKEN (as /metrics reads it): an operator, who may see details."""
    return is_metrics_token(_given_token(request))


def is_metrics_token(given: str) -> bool:
    """`given` is METRICS_TOKEN (which, unset, nobody has)."""
    from django.conf import settings

    expected = settings.METRICS_TOKEN
    return bool(expected and given) and hmac.compare_digest(given.encode(), expected.encode())


def metrics_view(request):
    """GET /metrics with METRICS_TOKEN as a bearer token (or ?token=): 401 without one, 403
    with a wrong one or when METRICS_TOKEN is unset (metrics are then off)."""
    from django.conf import settings
    from django.http import HttpResponse, JsonResponse

    from config.errors import error_body

    expected, given = settings.METRICS_TOKEN, _given_token(request)
    if not expected:
        return JsonResponse(error_body(403, "Metrics are off: set METRICS_TOKEN."), status=403)
    if not given:
        response = JsonResponse(error_body(401, "Send the metrics token as a bearer token."), status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return JsonResponse(error_body(403, "That metrics token is not valid."), status=403)
    response = HttpResponse(render(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response


def prepare_multiproc_dir(folder: Path) -> None:
    """Empty the folder before a stack starts (scripts/stack.py, tests/live_stack.py): samples of
    an earlier run's processes must not be added to this one's."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in folder.glob("*.db"):
        path.unlink()


def sockets_open() -> int:
    """Open WebSocket connections across the stack (every process, multiprocess mode)."""
    folder = multiproc_dir()
    if folder is None:
        return int(WS_OPEN._value.get())
    from prometheus_client import multiprocess

    mark_dead_workers()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return int(sum(s.value for f in registry.collect() if f.name == WS_OPEN._name for s in f.samples))


def live_numbers() -> dict:
    """Users online, open sockets and Celery's queue (Redis and the metric files; None for a
    source that did not answer), for the admin dashboard's live block."""
    from chat import presence
    from config.ratelimit import redis_client

    numbers = {"ws_connections_open": sockets_open(), "users_online": None, "celery_queue_depth": None}
    try:
        from django.conf import settings

        client = redis_client()
        numbers["users_online"] = client.zcount(presence.ONLINE, time.time(), "+inf")
        broker = _broker_client(settings.CELERY_BROKER_URL, client)
        numbers["celery_queue_depth"] = sum(broker.llen(queue) for queue in _queue_names())
    except Exception:  # noqa: BLE001 - Redis down: the page still renders
        logging.getLogger(__name__).warning("live numbers: Redis failed", extra={"event": "live_numbers.failed"})
    return numbers
