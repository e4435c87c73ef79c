"""The Redis channel layer, with a receive that may be cancelled at any moment.

Every socket of an ASGI process receives through one Redis queue (the process channel): the
one receive that holds channels_redis' receive lock blocks in BZPOPMIN on it and hands each
message to the buffer of the socket it is for. Channels cancels a socket's receive when that
socket closes. In channels_redis (4.3) that cancel goes straight into the blocking
BZPOPMIN, which goes wrong two ways:

- a message Redis had already popped for ANOTHER socket of the process (its reply on the
  wire) is dropped with the connection: a lost push, e.g. the partner's
  `room.partner_disconnected` sent at the very moment the last tab closes
  (channels_redis#366, channels#1683);
- with this redis-py (8.1, on Python 3.11), a cancel that lands as the reply arrives can be
  swallowed: BZPOPMIN returns, the receive loops into the next BZPOPMIN and never ends
  (a task dump shows it "cancelling" in a fresh BZPOPMIN), so uvicorn's graceful shutdown
  waits for that connection forever ("Waiting for background tasks to complete").

Here the BZPOPMIN runs in its own task that a cancel never reaches: the cancelled receive
ends at once, and the pop, when it completes (at most `brpop_timeout`, 5 s, later), puts
what it took back at the head of the queue for the next receive. A receive that still finds
itself cancelled after its pop also puts the message back, then ends.

Its connections come from a bounded pool that waits: with redis-py's default pool a burst
of sockets (2,000 connecting at once) hit `MaxConnectionsError: Too many connections` at the
first exhaustion, in auth and in disconnect. Here a task waits for a free connection up to
the host's `timeout` (REDIS_POOL_TIMEOUT) out of `max_connections` (CHANNEL_LAYER_POOL_SIZE)
per event loop."""

import asyncio
import logging
import time

from channels_redis.core import RedisChannelLayer
from redis import asyncio as aioredis

logger = logging.getLogger(__name__)

# channels_redis' own cleanup: messages left in the backup queue by an interrupted receive go
# back to the main queue, in order. BZPOPMIN must not run inside a script.
RESTORE_BACKUP = """
    local backed_up = redis.call('ZRANGE', ARGV[2], 0, -1, 'WITHSCORES')
    for i = #backed_up, 1, -2 do
        redis.call('ZADD', ARGV[1], backed_up[i], backed_up[i - 1])
    end
    redis.call('DEL', ARGV[2])
"""
# One popped message back at its place in the main queue (and out of the backup queue).
PUT_BACK = """
    redis.call('ZREM', KEYS[2], ARGV[1])
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
    redis.call('EXPIRE', KEYS[1], ARGV[3])
"""


# channels_redis' group_send script: each key (a channel, or a process's queue carrying the
# list of its channels the message is for) gets the message unless it is at capacity.
SEND_MANY = """
    local over_capacity = 0
    local current_time = ARGV[#ARGV - 1]
    local expiry = ARGV[#ARGV]
    for i=1,#KEYS do
        if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[i + #KEYS]) then
            redis.call('ZADD', KEYS[i], current_time, ARGV[i])
            redis.call('EXPIRE', KEYS[i], expiry)
        else
            over_capacity = over_capacity + 1
        end
    end
    return over_capacity
"""


class CancelSafeRedisChannelLayer(RedisChannelLayer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._putting_back: set[asyncio.Task] = set()

    def create_pool(self, index):
        host = dict(self.hosts[index])
        return aioredis.BlockingConnectionPool.from_url(host.pop("address"), **host)

    async def send_many(self, channel_names, message) -> None:
        """One message to an explicit list of channels, delivered the way group_send delivers
        to a group's members: one copy per process queue (with the list of that process's
        channels it is for) in one script call, so 2,000 sockets cost a few Redis commands,
        not 2,000 sends."""
        if not channel_names:
            return
        by_connection, messages, capacities = self._map_channel_keys_to_connection(channel_names, message)
        now = time.time()
        for index, keys in by_connection.items():
            connection = self.connection(index)
            pipe = connection.pipeline()
            for key in keys:  # discard expired messages first, as group_send does
                pipe.zremrangebyscore(key, min=0, max=int(now) - int(self.expiry))
            await pipe.execute()
            args = [messages[key] for key in keys] + [capacities[key] for key in keys] + [now, self.expiry]
            over = await connection.eval(SEND_MANY, len(keys), *keys, *args)
            if over:
                logger.info("send_many: %s of %s queues over capacity", over, len(keys))

    async def _brpop_with_clean(self, index, channel, timeout):
        backup_queue = self._backup_channel_name(channel)
        connection = self.connection(index)
        await connection.eval(RESTORE_BACKUP, 0, channel, backup_queue)
        pop = asyncio.ensure_future(self._pop(connection, channel, backup_queue, timeout))
        try:
            popped = await asyncio.shield(pop)
        except asyncio.CancelledError:
            pop.add_done_callback(lambda done: self._put_back_popped(done, connection, channel, backup_queue))
            raise
        task = asyncio.current_task()
        if task is not None and task.cancelling():  # cancelled, and the cancel was swallowed
            if popped is not None:
                await self._put_back(connection, channel, backup_queue, *popped)
            raise asyncio.CancelledError
        return None if popped is None else popped[0]

    @staticmethod
    async def _pop(connection, channel, backup_queue, timeout):
        """BZPOPMIN, and the message into the backup queue (upstream's order): (member, score)."""
        result = await connection.bzpopmin(channel, timeout=timeout)
        if result is None:
            return None
        _, member, score = result
        await connection.zadd(backup_queue, {member: float(score)})
        return member, score

    def _put_back_popped(self, pop: asyncio.Future, connection, channel, backup_queue) -> None:
        """The pop of a cancelled receive completed: what it took goes back for the next one."""
        if pop.cancelled() or pop.exception() is not None or pop.result() is None:
            return
        task = asyncio.ensure_future(self._put_back(connection, channel, backup_queue, *pop.result()))
        self._putting_back.add(task)
        task.add_done_callback(self._put_back_done)

    async def _put_back(self, connection, channel, backup_queue, member, score) -> None:
        await connection.eval(PUT_BACK, 2, channel, backup_queue, member, float(score), int(self.expiry))

    def _put_back_done(self, task: asyncio.Task) -> None:
        self._putting_back.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("could not put a popped channel message back", exc_info=task.exception())
