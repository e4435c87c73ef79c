"""Django's Redis cache backend, with one Redis client per connection pool instead of one per
cache call.

Django's RedisCacheClient.get_client() builds a new `redis.Redis` around its pool for every
get/set; with redis-py 8 building one (its table of response callbacks, its event dispatcher)
costs ~0.2 ms of CPU, more than the GET itself. The hot path reads the cache several times per
call cycle (the event-mode guard on every invite and accept, the screening rules' version on
every message), so the client is built once per pool and kept: a `redis.Redis` over a pool is
safe to share between threads, and the pool, its connections and its options are Django's own."""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class ReusingRedisCacheClient(RedisCacheClient):
    """RedisCacheClient whose get_client() returns the same client for the same pool."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    """The `django.core.cache.backends.redis.RedisCache` backend with ReusingRedisCacheClient."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient
