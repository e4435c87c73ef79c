"""The Redis channel layer: pushes in one script call per batch, this process's sockets fed
without Redis, a receive in one round trip, and a receive that may be cancelled at any moment.

Pushes (push_to_groups, docs/hot-path.md): a batch of (groups, event) goes out in one EVAL that
finds the groups' members' process queues in Redis and puts one copy in each (naming the
groups), skipping this process's own queue: each of this process's sockets receives from an
inbox of its own (local_receive), which gets this process's pushes directly and, through one
pump task, what Redis brings. A receiving process hands a group copy to its own sockets in those
groups (local_groups, from its own group_add/discard). While messages are waiting, a receive
takes one in one script call (POP) instead of four commands.

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

from channels_redis.core import BoundedQueue, RedisChannelLayer
from redis import asyncio as aioredis

from config.channel_layer_scripts import GROUPS_KEY, POP, PUSH_TO_GROUPS, PUT_BACK, RESTORE_BACKUP, SEND_BATCH

logger = logging.getLogger(__name__)


class _Inbox(BoundedQueue):
    """A consumer's messages, from this process and from Redis (at capacity the oldest goes)."""

    loop: asyncio.AbstractEventLoop
    pump: asyncio.Task


class CancelSafeRedisChannelLayer(RedisChannelLayer):
    PUMP_FIRST_PAUSE = 0.5  # seconds after a failed receive; doubles up to the longest
    PUMP_LONGEST_PAUSE = 4.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._putting_back: set[asyncio.Task] = set()
        # This process's consumers (channel name -> inbox): a message for one of them goes
        # straight into its inbox, never through Redis.
        self.inboxes: dict[str, _Inbox] = {}
        # Per receiving queue: the last message taken and handed over, still in the backup queue
        # until the next pop removes it (in the same script call).
        self._handed_over: dict[str, bytes] = {}
        # The groups this process's channels are in (from its own group_add/discard): where a
        # group push from another process goes here.
        self.local_groups: dict[str, set[str]] = {}
        self._groups_of: dict[str, set[str]] = {}  # the other way round

    def create_pool(self, index):
        host = dict(self.hosts[index])
        return aioredis.BlockingConnectionPool.from_url(host.pop("address"), **host)

    # --- in-process delivery -------------------------------------------------------------------

    async def local_receive(self, channel_name: str) -> dict:
        """A consumer's receive: from its inbox, which gets this process's pushes for it directly
        and, through one pump task, whatever Redis brings for it. The first call attaches it."""
        inbox = self.inboxes.get(channel_name)
        if inbox is None:
            inbox = self.inboxes[channel_name] = _Inbox(self.capacity)
            inbox.loop = asyncio.get_running_loop()
            inbox.pump = asyncio.ensure_future(self._pump(channel_name, inbox))
        return await inbox.get()

    async def _pump(self, channel_name: str, inbox: "_Inbox") -> None:
        """Redis's messages for one socket into its inbox, for the socket's whole life: a failed
        receive (Redis restarting, frozen, or dropping a pooled connection) is retried after a
        pause, never the end of the pump, or the socket would never get another process's push."""
        pause = self.PUMP_FIRST_PAUSE
        while True:
            try:
                message = await self.receive(channel_name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure of Redis: wait, then receive again
                # Once per outage per socket at warning level (thousands of sockets share one outage).
                log = logger.warning if pause == self.PUMP_FIRST_PAUSE else logger.debug
                log("receive for %s failed (%s); retrying in %.1f s", channel_name, exc, pause)
                await asyncio.sleep(pause)
                pause = min(self.PUMP_LONGEST_PAUSE, pause * 2)
                continue
            pause = self.PUMP_FIRST_PAUSE
            inbox.put_nowait(message)

    def detach(self, channel_name: str) -> None:
        """The consumer of `channel_name` ended: its pump stops, its inbox goes."""
        inbox = self.inboxes.pop(channel_name, None)
        if inbox is not None:
            inbox.pump.cancel()
        for group in list(self._groups_of.get(channel_name, ())):
            self._forget(group, channel_name)

    def _local_inbox(self, channel_name: str, loop) -> "_Inbox | None":
        inbox = self.inboxes.get(channel_name)
        return inbox if inbox is not None and inbox.loop is loop else None

    # --- sending to many -----------------------------------------------------------------------

    async def group_channels(self, groups) -> dict[str, list[str]]:
        """The live member channels of each group, in one round trip per Redis host."""
        by_index: dict[int, list[str]] = {}
        for group in dict.fromkeys(groups):
            by_index.setdefault(self.consistent_hash(group), []).append(group)
        members: dict[str, list[str]] = {}
        oldest = int(time.time()) - int(self.group_expiry)
        for index, names in by_index.items():
            pipe = self.connection(index).pipeline(transaction=False)
            for group in names:
                pipe.zrangebyscore(self._group_key(group), oldest, "+inf")
            for group, channels in zip(names, await pipe.execute(), strict=True):
                members[group] = [c.decode() for c in channels]
        return members

    async def push_to_groups(self, items, *, message_type: str = "push") -> None:
        """Each (groups, event) of `items`, in order, to every member channel of its groups (a
        channel in several of them gets it once): `{"type": message_type, "event": event}`.
        This process's sockets get their events directly, the other processes theirs through one
        script call for the whole batch (PUSH_TO_GROUPS), one copy per process queue and event.
        With the layer sharded over several Redis servers (groups and queues on different
        ones), the members are read first and the copies sent per server."""
        if len(self.hosts) == 1:
            return await self._push_in_one_call(items, message_type)
        members = await self.group_channels(group for groups, _ in items for group in groups)
        targets = [(dict.fromkeys(c for g in groups for c in members.get(g, ())), event) for groups, event in items]
        remote = self._deliver_local(targets, message_type=message_type)
        if remote:
            await self._send_remote(remote)

    async def _push_in_one_call(self, items, message_type: str) -> None:
        loop = asyncio.get_running_loop()
        local = [
            (list(dict.fromkeys(c for g in groups for c in self.local_groups.get(g, ()))), event)
            for groups, event in items
        ]
        # Our own queue is skipped only if every local member gets its events from here (a
        # consumer's inbox); otherwise Redis brings this process its copies like any other.
        direct = all(self._local_inbox(c, loop) for channels, _ in local for c in channels)
        if direct:
            for channels, event in local:
                message = {"type": message_type, "event": event}
                for channel in channels:
                    self._local_inbox(channel, loop).put_nowait(message)
        args, keys = [], []
        for groups, event in items:
            keys.extend(self._group_key(g) for g in groups)
            args += [len(groups), self.serialize({"type": message_type, "event": event, GROUPS_KEY: list(groups)})]
        skip = f"specific.{self.client_prefix}!" if direct else ""
        oldest, now = int(time.time()) - int(self.group_expiry), time.time()
        head = [oldest, now, int(self.expiry), self.capacity, skip, self.prefix, len(items)]
        over = await self.connection(0).eval(PUSH_TO_GROUPS, len(keys), *keys, *head, *args)
        if over:
            logger.info("push: %s queues over capacity", over)

    # --- group membership of this process's channels ----------------------------------------

    def _is_ours(self, channel: str) -> bool:
        return channel.startswith(f"specific.{self.client_prefix}!")

    async def group_add(self, group, channel):
        await super().group_add(group, channel)
        if self._is_ours(channel):
            self.local_groups.setdefault(group, set()).add(channel)
            self._groups_of.setdefault(channel, set()).add(group)

    async def group_discard(self, group, channel):
        self._forget(group, channel)
        await super().group_discard(group, channel)

    def _forget(self, group, channel) -> None:
        for index, key, value in ((self.local_groups, group, channel), (self._groups_of, channel, group)):
            members = index.get(key)
            if members is not None:
                members.discard(value)
                if not members:
                    del index[key]

    async def send_many(self, channel_names, message) -> None:
        """One message to an explicit list of channels, delivered the way group_send delivers
        to a group's members: one copy per process queue (with the list of that process's
        channels it is for) in one script call, so 2,000 sockets cost a few Redis commands,
        not 2,000 sends; this process's own sockets get it directly."""
        if not channel_names:
            return
        loop = asyncio.get_running_loop()
        remote = []
        for channel in channel_names:
            if inbox := self._local_inbox(channel, loop):
                inbox.put_nowait(message)
            else:
                remote.append(channel)
        if remote:
            await self._send_remote([(remote, message)])

    def _deliver_local(self, targets, *, message_type: str) -> list:
        """The local part of a batch, now; returns what is left for Redis."""
        loop = asyncio.get_running_loop()
        remote = []
        for channels, event in targets:
            message = {"type": message_type, "event": event}
            far = []
            for channel in channels:
                if inbox := self._local_inbox(channel, loop):
                    inbox.put_nowait(message)
                else:
                    far.append(channel)
            if far:
                remote.append((far, message))
        return remote

    async def _send_remote(self, messages) -> None:
        """Each (channels, message) to its channels' process queues: one script call per host."""
        by_index: dict[int, tuple[list, list, list, list]] = {}
        position = 0
        for channels, message in messages:
            by_connection, serialized, capacities = self._map_channel_keys_to_connection(channels, message)
            for index, keys in by_connection.items():
                batch = by_index.setdefault(index, ([], [], [], []))
                for key in keys:
                    position += 1
                    batch[0].append(key)
                    batch[1].append(serialized[key])
                    batch[2].append(capacities[key])
                    batch[3].append(position * 1e-6)
        now = time.time()
        for index, (keys, bodies, capacities, offsets) in by_index.items():
            args = [*bodies, *capacities, *offsets, now, int(self.expiry)]
            over = await self.connection(index).eval(SEND_BATCH, len(keys), *keys, *args)
            if over:
                logger.info("send: %s of %s queues over capacity", over, len(keys))

    # --- receiving ---------------------------------------------------------------------------

    async def receive_single(self, channel):
        """As channels_redis' receive_single, in one round trip per message while messages are
        waiting (POP), instead of four (restore, BZPOPMIN, backup, and a cleaner task's pop)."""
        assert self.require_valid_channel_name(channel, receive=True), "Channel name invalid"
        if "!" in channel:
            assert channel.endswith("!")
            index = self.consistent_hash(channel)
        else:
            index = next(self._receive_index_generator)
        channel_key = self.prefix + channel
        backup_queue = self._backup_channel_name(channel_key)
        handed_over = self._handed_over.get(channel_key, b"")
        connection = self.connection(index)
        content = await connection.eval(POP, 2, channel_key, backup_queue, handed_over)
        self._handed_over.pop(channel_key, None)  # removed by that call (or never there)
        task = asyncio.current_task()
        if task is not None and task.cancelling():  # cancelled, and the cancel was swallowed
            if content is not None:
                await self._put_back(
                    connection, channel_key, backup_queue, content, await self._score(connection, backup_queue, content)
                )
            raise asyncio.CancelledError
        while content is None:
            # POP has just emptied the backup queue (and a BZPOPMIN that timed out put nothing in
            # it), so the block skips upstream's restore: one round trip fewer per idle receive.
            content = await self._brpop_with_clean(index, channel_key, timeout=self.brpop_timeout, restore=False)
        self._handed_over[channel_key] = content
        message = self.deserialize(content)
        if "__asgi_channel__" in message:
            channel = message.pop("__asgi_channel__")
        elif GROUPS_KEY in message:  # a group push: for our channels in those groups
            groups = message.pop(GROUPS_KEY)
            channel = list(dict.fromkeys(c for g in groups for c in self.local_groups.get(g, ())))
        return channel, message

    async def _brpop_with_clean(self, index, channel, timeout, *, restore: bool = True):
        backup_queue = self._backup_channel_name(channel)
        connection = self.connection(index)
        task = asyncio.current_task()
        if restore:
            await connection.eval(RESTORE_BACKUP, 0, channel, backup_queue)
            if task is not None and task.cancelling():  # a cancel swallowed by that call: end now
                raise asyncio.CancelledError
        pop = asyncio.ensure_future(self._pop(connection, channel, timeout))
        try:
            popped = await asyncio.shield(pop)
        except asyncio.CancelledError:
            pop.add_done_callback(lambda done: self._put_back_popped(done, connection, channel, backup_queue))
            raise
        if task is not None and task.cancelling():  # cancelled, and the cancel was swallowed
            if popped is not None:
                await self._put_back(connection, channel, backup_queue, *popped)
            raise asyncio.CancelledError
        return None if popped is None else popped[0]

    @staticmethod
    async def _pop(connection, channel, timeout):
        """BZPOPMIN: (member, score). Upstream then copies the message into the backup queue, a
        round trip of its own; here it is not: between this reply and the hand-over there is no
        await but the cancel checks, which put a popped message back themselves (_put_back,
        from the member and score in hand), so a copy in the backup would only ever be removed
        again by the next POP. Messages POP takes still go through the backup, in its script."""
        result = await connection.bzpopmin(channel, timeout=timeout)
        if result is None:
            return None
        _, member, score = result
        return member, score

    def _put_back_popped(self, pop: asyncio.Future, connection, channel, backup_queue) -> None:
        """The pop of a cancelled receive completed: what it took goes back for the next one."""
        if pop.cancelled() or pop.exception() is not None or pop.result() is None:
            return
        task = asyncio.ensure_future(self._put_back(connection, channel, backup_queue, *pop.result()))
        self._putting_back.add(task)
        task.add_done_callback(self._put_back_done)

    @staticmethod
    async def _score(connection, backup_queue, member) -> float:
        return float(await connection.zscore(backup_queue, member) or time.time())

    async def _put_back(self, connection, channel, backup_queue, member, score) -> None:
        await connection.eval(PUT_BACK, 2, channel, backup_queue, member, float(score), int(self.expiry))

    def _put_back_done(self, task: asyncio.Task) -> None:
        self._putting_back.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("could not put a popped channel message back", exc_info=task.exception())
