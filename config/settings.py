"""Settings, all from the environment (django-environ). Every variable is listed in README.md."""

import os
import zlib
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import environ
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def _redis_db(url: str, db: int) -> str:
    """The same Redis server URL with another database index."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


DEBUG = env.bool("DEBUG", default=False)
# Under pytest (which sets PYTEST_VERSION) some defaults differ: see REDIS_URL below.
TESTING = "PYTEST_VERSION" in os.environ
# Required in production; `make run`/`make test` generate one into var/secret_key.
SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key" if DEBUG or TESTING else environ.Env.NOTSET)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The client IP is REMOTE_ADDR unless this many reverse proxies sit in front of us;
# then it is the entry that many places from the right of X-Forwarded-For (never the first).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc served from our static files (offline)
    "channels",
    "accounts",
    "screening",
    "chat",
    "moderation",
    "operations",
    "usc_cards",
    "referrals",
    "csp",
]

MIDDLEWARE = [
    "config.metrics.MetricsMiddleware",  # rdv_http_* for every response (README → Observability)
    "config.logs.RequestContextMiddleware",  # request id, IP, user on each log line
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ApiErrorMiddleware",  # the one JSON error body under /api/, 503 for a refusing DB
    "csp.middleware.CSPMiddleware",  # CONTENT_SECURITY_POLICY below
    "config.middleware.CSPPathPolicy",  # the admin's and the API docs' additions to it
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.OneThreadForTheChain",  # last: the whole chain in one thread hand-off
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- PostgreSQL: the source of truth -------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/rendezvous")}
# A Unix-socket directory arrives URL-quoted in the host part (postgres://u@%2Fpath%2Fdir/db).
DATABASES["default"]["HOST"] = unquote(DATABASES["default"]["HOST"] or "")
# A bounded connection pool per process (Django's psycopg pool; docs/hot-path.md): a thread
# borrows a connection for one call and gives it back, so a process never holds more than
# DB_POOL_MAX connections, however many threads or sockets it runs. The pool checks connections
# when it hands them back, not before every call. DB_POOL_MAX=0 turns the pool off (then
# DB_CONN_MAX_AGE keeps one connection per thread, with a health check per request).
DB_POOL_MIN = env.int("DB_POOL_MIN", default=2)
DB_POOL_MAX = env.int("DB_POOL_MAX", default=8)
DATABASES["default"].setdefault("OPTIONS", {})
if DB_POOL_MAX > 0:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # required by the pool: "closing" returns to it
    # Django's backend, plus: a connection whose thread ended unclosed goes back to the pool.
    DATABASES["default"]["ENGINE"] = "config.db_backend"
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": min(DB_POOL_MIN, DB_POOL_MAX),
        "max_size": DB_POOL_MAX,
        # A caller waits this long for a free connection, then gets a 503 (not a hang).
        "timeout": env.float("DB_POOL_TIMEOUT", default=3.0),
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Bounded waits on PostgreSQL: a connection attempt gives up after DB_CONNECT_TIMEOUT seconds
# (libpq's least is 2), and with DB_STATEMENT_TIMEOUT (seconds, 0 = none; the ASGI servers set
# it, jobs and commands that may run long do not) the server cancels a statement running longer.
# A server that is frozen does not answer at all: the waits on its callers are bounded
# where they wait (config.db_threads for the WebSocket, config.deadline for HTTP).
DATABASES["default"]["OPTIONS"]["connect_timeout"] = max(2, env.int("DB_CONNECT_TIMEOUT", default=3))
DB_STATEMENT_TIMEOUT = env.float("DB_STATEMENT_TIMEOUT", default=0.0)
if DB_STATEMENT_TIMEOUT > 0 and not env.bool("DB_PGBOUNCER", default=False):  # PgBouncer refuses `options`
    DATABASES["default"]["OPTIONS"]["options"] = f"-c statement_timeout={int(DB_STATEMENT_TIMEOUT * 1000)}"
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default=None)}
# Services open their own transactions: each use case is one atomic(durable=True) block.
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- PgBouncer in transaction pooling mode (DB_PGBOUNCER=1; docs/deploy.md) ----------------
# A server connection is ours only for the length of a transaction, so nothing may outlive
# one: no prepared statements (psycopg prepares after 5 runs; off), no server-side cursors
# outside a transaction (Django's are WITH HOLD in autocommit; off, the export uses its own
# inside its transaction), no session-level advisory locks or SETs (the code uses none:
# pg_advisory_xact_lock, SET TRANSACTION / SET CONSTRAINTS inside atomic blocks only).
DB_PGBOUNCER = env.bool("DB_PGBOUNCER", default=False)
if DB_PGBOUNCER:
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = None
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
# --- end of the PgBouncer block --------------------------------------------------------------

# --- Redis: only what may be lost (cache/throttles, channel layer, presence, Celery broker) ---
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
# Under pytest everything Redis-side goes to a separate database index, because the suite
# empties it between tests: never the one `make run` uses.
# Parallel runs with different TEST_DATABASE_NAMEs get different indexes (1–15).
# pytest-xdist workers (make test-fast: gw0, gw1, …) each get their own index, 14 down to 1,
# as each gets its own test database.
if TESTING:
    _test_db = env("TEST_DATABASE_NAME", default="")
    _xdist_worker = env("PYTEST_XDIST_WORKER", default="")
    if _xdist_worker:
        _test_index = 14 - int(_xdist_worker.removeprefix("gw")) % 14
    else:
        _test_index = 1 + zlib.crc32(_test_db.encode()) % 15 if _test_db else 15
    REDIS_URL = env("REDIS_TEST_URL", default=_redis_db(REDIS_URL, _test_index))
CACHES = {
    "default": {
        "BACKEND": "config.redis_cache.RedisCache",  # one client per pool, not per call
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "rdv",
        # Bounded like the presence client (REDIS_SOCKET_TIMEOUT below, config.ratelimit).
        "OPTIONS": {
            "socket_timeout": env.float("REDIS_SOCKET_TIMEOUT", default=2.0),
            "socket_connect_timeout": env.float("REDIS_SOCKET_TIMEOUT", default=2.0),
            "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
            "retry_on_error": [RedisConnectionError],
        },
    }
}
# Redis connections come from bounded pools that WAIT for a free connection (up to
# REDIS_POOL_TIMEOUT seconds) instead of failing at the first exhaustion: one pool per process
# for the synchronous client (presence, throttles) and one per event loop for the channel layer.
REDIS_POOL_SIZE = env.int("REDIS_POOL_SIZE", default=50)
CHANNEL_LAYER_POOL_SIZE = env.int("CHANNEL_LAYER_POOL_SIZE", default=100)
REDIS_POOL_TIMEOUT = env.float("REDIS_POOL_TIMEOUT", default=3.0)
# Every Redis command of the synchronous clients (presence, throttles, cache) waits at most this
# long for its answer, so a frozen Redis costs a caller seconds (then a 503), never a hang. A
# connection that Redis closed (a restart) is dropped and the command tried once more on a new one.
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=2.0)
CHANNEL_LAYERS = {
    "default": {
        # channels_redis' layer, with a receive that is safe to cancel and a blocking pool
        # (config/channel_layer.py).
        "BACKEND": "config.channel_layer.CancelSafeRedisChannelLayer",
        # socket_timeout above channels_redis' 5 s BZPOPMIN: with redis-py's default (5 s) an
        # idle socket's receive raced the server's empty reply and crashed the consumer.
        "CONFIG": {
            "hosts": [
                {
                    "address": REDIS_URL,
                    "socket_timeout": 15,
                    "socket_connect_timeout": 2,
                    # A pooled connection Redis closed (a restart) is dropped and the command
                    # tried once on a new one, instead of failing every caller that draws it.
                    "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
                    "retry_on_error": [RedisConnectionError],
                    "max_connections": CHANNEL_LAYER_POOL_SIZE,
                    "timeout": REDIS_POOL_TIMEOUT,  # how long a task waits for a pooled connection
                }
            ],
            "prefix": "rdv:asgi",
            "capacity": 1000,
            "expiry": 30,
        },
    }
}

# The channel layer may be sharded over several Redis servers (channels-redis hashes each
# channel and group to one of them): CHANNEL_REDIS_URLS, comma-separated; default REDIS_URL.
if env.list("CHANNEL_REDIS_URLS", default=[]):
    CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [
        {**CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0], "address": url} for url in env.list("CHANNEL_REDIS_URLS")
    ]
# WebSockets (chat/consumers.py; close codes in README "WebSocket protocol").
WS_AUTH_TIMEOUT_SECONDS = env.float("WS_AUTH_TIMEOUT_SECONDS", default=5.0)  # the client's time to send its token
WS_MAX_SOCKETS_PER_USER = env.int("WS_MAX_SOCKETS_PER_USER", default=5)  # tabs; the next gets 4029
WS_AUTH_CONCURRENCY = env.int("WS_AUTH_CONCURRENCY", default=8)  # token checks at once per process
WS_AUTH_QUEUE_MAX = env.int("WS_AUTH_QUEUE_MAX", default=5000)  # tokens waiting per process, then 4013
WS_AUTH_QUEUE_SECONDS = env.float("WS_AUTH_QUEUE_SECONDS", default=30.0)  # longest wait for a check, then 4013
# Available while browsing (chat/presence_state.py): no longer after this long with every page
# hidden or unfocused, or this long without any use of a page away from the reel.
PRESENCE_HIDDEN_SECONDS = env.float("PRESENCE_HIDDEN_SECONDS", default=60.0)
PRESENCE_IDLE_SECONDS = env.float("PRESENCE_IDLE_SECONDS", default=300.0)

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# What a task prints (the development email backend's framed emails) goes to the console as
# it is, not re-logged line by line as WARNING/ForkPoolWorker: it is not a warning.
CELERY_WORKER_REDIRECT_STDOUTS = False


# Beat only tidies; every reader checks timestamps itself (correctness never waits for a sweep).
# Every task is idempotent and safe with several workers (rows claimed with SKIP LOCKED). README → Operations.
def _every(name: str, default: float) -> float:
    return env.float(name, default=default)


CELERY_BEAT_SCHEDULE: dict = {
    "sweep-rooms": {"task": "chat.tasks.sweep_rooms", "schedule": _every("SWEEP_ROOMS_SECONDS", 2.0)},
    "sweep-invites": {"task": "chat.tasks.sweep_invites", "schedule": _every("SWEEP_INVITES_SECONDS", 5.0)},
    "sweep-cooldowns": {"task": "chat.tasks.sweep_cooldowns", "schedule": _every("SWEEP_COOLDOWNS_SECONDS", 600.0)},
    "sweep-sessions": {"task": "accounts.tasks.sweep_sessions", "schedule": _every("SWEEP_SESSIONS_SECONDS", 3600.0)},
    "sweep-locations": {
        "task": "accounts.tasks.sweep_locations",
        "schedule": _every("SWEEP_LOCATIONS_SECONDS", 600.0),
    },
    "sweep-guests": {"task": "accounts.tasks.sweep_expired_guests", "schedule": _every("SWEEP_GUESTS_SECONDS", 600.0)},
    "apply-retention": {"task": "chat.tasks.apply_retention", "schedule": _every("RETENTION_SECONDS", 3600.0)},
    "sweep-data-exports": {
        "task": "moderation.tasks.sweep_data_exports",
        "schedule": _every("SWEEP_EXPORTS_SECONDS", 600.0),
    },
    "moderation-lift-suspensions": {
        "task": "moderation.tasks.lift_ended_suspensions",
        "schedule": _every("SWEEP_SUSPENSIONS_SECONDS", 60.0),
    },
    "moderation-case-reminders": {
        "task": "moderation.tasks.remind_overdue_cases",
        "schedule": _every("CASE_REMINDER_SECONDS", 3600.0),
    },
    "finalize-usc-registrations": {
        "task": "usc_cards.tasks.finalize_unfinalized_scans",
        "schedule": _every("SWEEP_USC_SECONDS", 300.0),
    },
}
# Retention (days); 0 or less turns a policy off. The audit log is kept for ever.
RETENTION_SCAN_ATTEMPTS_DAYS = env.int("RETENTION_SCAN_ATTEMPTS_DAYS", default=90)  # deleted
RETENTION_MESSAGES_DAYS = env.int("RETENTION_MESSAGES_DAYS", default=30)  # after the room ended → archive
RETENTION_SESSIONS_DAYS = env.int("RETENTION_SESSIONS_DAYS", default=7)  # after expiry → deleted
RETENTION_CHAT_HISTORY_DAYS = env.int("RETENTION_CHAT_HISTORY_DAYS", default=365)  # → archive
RETENTION_EVENT_RSVPS_DAYS = env.int("RETENTION_EVENT_RSVPS_DAYS", default=30)  # after the RSVP's date → deleted
RETENTION_WAITLIST_UNVERIFIED_DAYS = env.int(
    "RETENTION_WAITLIST_UNVERIFIED_DAYS", default=7
)  # never verified → deleted
# GET /api/stats/live is computed at most once per this many seconds (capped at 5).
LIVE_STATS_CACHE_SECONDS = env.int("LIVE_STATS_CACHE_SECONDS", default=5)
RETENTION_BATCH_SIZE = env.int("RETENTION_BATCH_SIZE", default=1000)
# persistence_check: a live room this long past ends_at (or its grace expiry) is a violation,
# not a sweep that is merely due (beat acts every 2 s); USC users get this long to finalize.
PERSISTENCE_OVERDUE_GRACE_SECONDS = env.int("PERSISTENCE_OVERDUE_GRACE_SECONDS", default=60)
PERSISTENCE_USC_GRACE_SECONDS = env.int("PERSISTENCE_USC_GRACE_SECONDS", default=3600)
# /healthz reuses the last persistence_check result (kept in Redis) for this long.
PERSISTENCE_HEALTH_CACHE_SECONDS = env.int("PERSISTENCE_HEALTH_CACHE_SECONDS", default=60)
# /healthz (config/health.py): the longest any of its checks may take before it answers 503, and
# how long a process reuses its last look at the applied migrations.
HEALTH_CHECK_TIMEOUT_SECONDS = env.float("HEALTH_CHECK_TIMEOUT_SECONDS", default=2.0)
HEALTH_MIGRATIONS_CACHE_SECONDS = env.float("HEALTH_MIGRATIONS_CACHE_SECONDS", default=300.0)
# /healthz served by the ASGI process (config/health_asgi.py) answers the checks a thread of its
# own runs every this many seconds; older than this + HEALTH_CHECK_TIMEOUT_SECONDS is a 503.
HEALTH_REFRESH_SECONDS = env.float("HEALTH_REFRESH_SECONDS", default=1.0)
CELERY_TASK_ROUTES: dict = {
    # Its own queue and worker (deploy/Procfile): the classifier's memory and time stay there.
    "screening.scan_media": {"queue": "screening"},
    "chat.screen_call_photo": {"queue": "screening"},  # photos in text calls (chat.services.photos)
}
# --- Screening (docs/screening.md) ---------------------------------------------------------
# Text screening of call chat (watched words, detectors); off only to measure its cost.
SCREENING_TEXT = env.bool("SCREENING_TEXT", default=True)
# An image whose nudity score (0–1, NudeNet) is at least this is hidden pending review.
SCREENING_NUDITY_THRESHOLD = env.float("SCREENING_NUDITY_THRESHOLD", default=0.6)
# A new selfie within this many bits (of 64) of a banned person's pHash holds the account.
SCREENING_BAN_EVASION_DISTANCE = env.int("SCREENING_BAN_EVASION_DISTANCE", default=8)
SCREENING_NUDITY_CLASSIFIER = env("SCREENING_NUDITY_CLASSIFIER", default="screening.classifier.NudeNetClassifier")

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.SessionTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.IsActiveMember"],
    "DEFAULT_PAGINATION_CLASS": "config.api.NewestFirstPagination",
    "DEFAULT_PARSER_CLASSES": ["config.parsers.JSONParser"],  # DRF's, + RecursionError → 400
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "PAGE_SIZE": 20,
}
# Throttle rates (count/period, period s|m|h|d), counted atomically in Redis (config.ratelimit).
RATE_LIMITS = {
    "signup": env("RATE_SIGNUP", default="20/h"),  # per IP (campus NATs share addresses)
    "login": env("RATE_LOGIN", default="10/m"),  # per IP
    # Failed logins per account (per email, known or not: the same answers), whatever the IPs.
    "login_account": env("RATE_LOGIN_ACCOUNT", default="10/h"),
    "password_forgot": env("RATE_PASSWORD_FORGOT", default="5/h"),  # per IP
    "code_check": env("RATE_CODE_CHECK", default="20/h"),  # per IP: code entry endpoints
    "email_send": env("RATE_EMAIL_SEND", default="10/h"),  # per user (the 3/h per purpose rule is in the DB)
    "email_verify": env("RATE_EMAIL_VERIFY", default="20/h"),  # per user
    "referral_create": env("RATE_REFERRAL_CREATE", default="20/d"),  # per user
    "upload": env("RATE_UPLOAD", default="30/h"),  # per user
    "ice_servers": env("RATE_ICE_SERVERS", default="10/h"),  # per user
    "event_rsvp": env("RATE_EVENT_RSVP", default="10/5m"),  # per user: POST /api/events/rsvp
    "waitlist": env("RATE_WAITLIST", default="3/h"),  # per IP: POST /api/waitlist
    "block": env("RATE_BLOCK", default="30/h"),  # per user: POST /api/blocks and DELETE /api/blocks/<id> together
    "call_by_code": env("RATE_CALL_BY_CODE", default="20/h"),  # per user: POST /api/reel/by-code
    "call_by_code_ip": env("RATE_CALL_BY_CODE_IP", default="60/h"),  # per IP: the same endpoint
    "call_photos": env("RATE_CALL_PHOTOS", default="10/m"),  # per user: POST /api/calls/<room>/photos
}
# Failed invite-code validations allowed per IP per hour (5).
INVITE_CODE_FAILURES_PER_HOUR = env.int("INVITE_CODE_FAILURES_PER_HOUR", default=5)
# Moderation: reports per reporter per rolling day (counted in the database); the
# automatic temporary ban needs this many distinct reporters from this many distinct IPs;
# a permanent ban IP-bans the user's session addresses for this many days.
REPORTS_PER_DAY = env.int("REPORTS_PER_DAY", default=20)
PERMANENT_BAN_IP_DAYS = env.int("PERMANENT_BAN_IP_DAYS", default=30)
# Weighted reports (moderation/trust.py; formula and worked examples in docs/moderation.md).
# A reporter's weight = (base + age + calls + verified) x accuracy, capped at REPORT_WEIGHT_MAX;
# linked reporters count once (their largest weight); the automatic temporary ban fires when the
# open case's weighted evidence reaches AUTO_BAN_WEIGHT.
AUTO_BAN_WEIGHT = env.float("AUTO_BAN_WEIGHT", default=2.0)
REPORT_WEIGHT_BASE = env.float("REPORT_WEIGHT_BASE", default=0.2)
REPORT_WEIGHT_AGED = env.float("REPORT_WEIGHT_AGED", default=0.2)  # account at least REPORT_AGED_DAYS old
REPORT_AGED_DAYS = env.int("REPORT_AGED_DAYS", default=14)
REPORT_WEIGHT_CALLS = env.float("REPORT_WEIGHT_CALLS", default=0.2)  # at least REPORT_MIN_CALLS completed calls
REPORT_MIN_CALLS = env.int("REPORT_MIN_CALLS", default=3)
REPORT_WEIGHT_VERIFIED = env.float("REPORT_WEIGHT_VERIFIED", default=0.3)  # USC card or verified @usc.edu
REPORT_WEIGHT_MAX = env.float("REPORT_WEIGHT_MAX", default=1.5)  # < AUTO_BAN_WEIGHT: nobody bans alone
REPORT_WEIGHT_NO_CALL = env.float("REPORT_WEIGHT_NO_CALL", default=0.5)  # factor for a profile seen, no call
REPORT_WEIGHT_SCREENING = env.float("REPORT_WEIGHT_SCREENING", default=0.0)  # system reports queue, never ban
# Linked reporters: reports from one /24 (IPv4) or /48 (IPv6) within REPORT_LINK_NETWORK_DAYS,
# the same inviter or introducer, or accounts created within REPORT_LINK_WAVE_MINUTES of each other.
REPORT_LINK_NETWORK_DAYS = env.int("REPORT_LINK_NETWORK_DAYS", default=3)
REPORT_LINK_WAVE_MINUTES = env.int("REPORT_LINK_WAVE_MINUTES", default=60)
# Queue service levels (hours a case may stay open before the hourly reminder emails moderators).
CASE_SLA_URGENT_HOURS = env.float("CASE_SLA_URGENT_HOURS", default=1.0)
CASE_SLA_HOURS = env.float("CASE_SLA_HOURS", default=24.0)
# Networks a permanent ban never IP-bans automatically (a moderator still can by hand):
# loopback is a local proxy or a developer, never a client.
IP_BAN_EXEMPT_NETWORKS = env.list("IP_BAN_EXEMPT_NETWORKS", default=["127.0.0.0/8", "::1/128"])
# GIF messages may only link to these hosts (https).
GIF_HOSTS = env.list("GIF_HOSTS", default=["media.giphy.com", "i.giphy.com", "media.tenor.com", "c.tenor.com"])

# --- Browser security headers and HTTPS (README → Security) ----------------------------------
# A strict CSP on every HTML page: scripts and styles only from our own origin, no inline
# script anywhere (config.middleware.CSPPathPolicy adds the admin's and the API docs' inline
# styles). Chat GIFs come from GIF_HOSTS; CSP_MEDIA_ORIGINS adds e.g. an S3 bucket's origin.
CSP_MEDIA_ORIGINS = env.list("CSP_MEDIA_ORIGINS", default=[])
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:", *(f"https://{host}" for host in GIF_HOSTS), *CSP_MEDIA_ORIGINS],
        "media-src": ["'self'", "blob:", "mediastream:", *CSP_MEDIA_ORIGINS],
        "connect-src": ["'self'"],  # CSP3: also ws:/wss: to our own host
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# HTTPS in production (all off by default for `make run` on plain http; see README's production example).
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain http
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=False)
# The header our TLS-terminating proxy sets to "https" (e.g. X-Forwarded-Proto); empty: none.
_ssl_header = env("SECURE_PROXY_SSL_HEADER", default="")
SECURE_PROXY_SSL_HEADER = ("HTTP_" + _ssl_header.upper().replace("-", "_"), "https") if _ssl_header else None

# WebRTC: STUN/TURN servers handed to clients; TURN credentials use coturn's shared secret.
STUN_URLS = env.list("STUN_URLS", default=[])
TURN_URLS = env.list("TURN_URLS", default=[])
TURN_SECRET = env("TURN_SECRET", default="")
TURN_CREDENTIAL_TTL = env.int("TURN_CREDENTIAL_TTL", default=3600)
# Public base URL used in links we hand out (invite QR codes, referral links).
# `make run` sets it to the address it binds (HOST, PORT) unless given.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")
SPECTACULAR_SETTINGS = {
    "TITLE": "Rendezvous API",
    "DESCRIPTION": (
        "Campus speed-dating backend. Every refusal (4xx) has the one error body (`Error`). "
        "The realtime protocol (WebSocket /ws/) is the AsyncAPI 3 document at /api/asyncapi.json "
        "(docs/protocol.md)."
    ),
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc come from drf-spectacular-sidecar (pinned), not a CDN: /api/docs/ works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "SocialNetworkEnum": "chat.api.match_views.SOCIAL_NETWORKS",
        "MeetModesEnum": "accounts.models.MEET_MODES",  # also a call mode (reel, call by code)
    },
    # Every 4xx documents the one error body; the refusals each operation can give are listed.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.openapi.add_error_responses",
        "config.openapi.forbid_nul_characters",
    ],
}

# --- Domain secrets -------------------------------------------------------------------------
# HMAC key for USC card IDs: the raw ID is never stored.
USC_ID_HMAC_SECRET = env("USC_ID_HMAC_SECRET", default=SECRET_KEY)
# USC card scans: test IDs refused like invalid ones (comma-separated 10-digit IDs),
# scans per IP per window (Redis), distinct valid cards per IP per day (counted in PostgreSQL).
USC_TEST_ID_DENYLIST = env.list("USC_TEST_ID_DENYLIST", default=[])
USC_SCANS_PER_WINDOW = env.int("USC_SCANS_PER_WINDOW", default=10)
USC_SCAN_WINDOW_SECONDS = env.int("USC_SCAN_WINDOW_SECONDS", default=600)
USC_DISTINCT_CARDS_PER_IP = env.int("USC_DISTINCT_CARDS_PER_IP", default=3)
# A USC sign-up not finalized after this many minutes is finalized by the beat sweep.
USC_FINALIZE_AFTER_MINUTES = env.int("USC_FINALIZE_AFTER_MINUTES", default=30)

# --- I18N / time ----------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Files ----------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]  # the web client's JS and CSS
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "var" / "static")
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# S3 (django-storages) when a bucket is configured; credentials come from the usual AWS_* vars.
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage"}
    AWS_S3_REGION_NAME = env("AWS_S3_REGION_NAME", default=None)
    AWS_S3_ENDPOINT_URL = env("AWS_S3_ENDPOINT_URL", default=None)
    AWS_DEFAULT_ACL = None
    AWS_QUERYSTRING_AUTH = True
    AWS_S3_OBJECT_PARAMETERS = {"ContentDisposition": "inline"}
# Uploads above this size are spooled to a temporary file, not kept in memory.
# Request bodies larger than this are refused with 413 before they are read (config.body_limit);
# the selfie and video uploads have their own caps there.
REQUEST_BODY_MAX_BYTES = env.int("REQUEST_BODY_MAX_BYTES", default=1024 * 1024)
# A 503 service_unavailable (database or Redis refusing us) tells clients to retry after this many seconds.
SERVICE_UNAVAILABLE_RETRY_AFTER = env.int("SERVICE_UNAVAILABLE_RETRY_AFTER", default=5)
# No HTTP answer waits longer than this after its request arrived: then 503 (config.deadline;
# 0 = off). A WebSocket request's database call is bounded by DB_CALL_TIMEOUT (config.db_threads).
HTTP_DEADLINE_SECONDS = env.float("HTTP_DEADLINE_SECONDS", default=4.0)
DB_CALL_TIMEOUT = env.float("DB_CALL_TIMEOUT", default=3.5)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
WHITENOISE_USE_FINDERS = DEBUG

# --- Email ----------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
if EMAIL_BACKEND == "django.core.mail.backends.console.EmailBackend":  # noqa: F821 - set by EMAIL_CONFIG
    EMAIL_BACKEND = "config.mail.EmailBackend"  # the same, framed so a code stands out in `make run`
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Rendezvous <no-reply@localhost>")

# --- Observability (README → Observability) --------------------------------------------
# GET /metrics answers only with this token (Authorization: Bearer …, or ?token=); unset: off (403).
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# Error reports to Sentry (sentry-sdk), off when unset; no personal data (config/sentry.py).
SENTRY_DSN = env("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env("SENTRY_ENVIRONMENT", default="production" if not DEBUG else "development")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
if SENTRY_DSN:
    from config.sentry import init_sentry

    init_sentry(SENTRY_DSN, environment=SENTRY_ENVIRONMENT, traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE)

# --- Logging: one line per moderation/security action (plus the audit_log row) --------------
# LOG_FORMAT=json: one JSON object per line (config/logs.py); the default "console" is readable.
LOG_FORMAT = env("LOG_FORMAT", default="console")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "config.logs.ContextFilter"}},
    "formatters": {
        "console": {"()": "config.logs.ConsoleFormatter", "format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.logs.JsonLines"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "console",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Django adds a console handler of its own to "django" while DEBUG is on: every refused
        # request ("Unauthorized: /api/me") was printed twice. One handler, the root's.
        "django": {"handlers": [], "propagate": True},
    },
}
