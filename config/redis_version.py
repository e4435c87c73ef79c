"""redis-py (8.x) looks its own version up with importlib.metadata.version("redis") for every new
connection (DriverInfo, for CLIENT SETINFO LIB-VER): a walk over the installed distributions on
each connect. A burst of sockets fills the channel layer's and the presence pools with new
connections all at once, and py-spy put 7 % of an ASGI worker's GIL time in that look-up
(docs/operations.md → Bursts and capacity). A running process's redis-py cannot change version:
it is looked up once. Imported by config/__init__.py, so every process (ASGI, Celery, manage.py)
has it before its first connection."""

import functools

import redis.utils


def cache_lib_version() -> None:
    if not hasattr(redis.utils.get_lib_version, "cache_info"):
        redis.utils.get_lib_version = functools.cache(redis.utils.get_lib_version)


cache_lib_version()
