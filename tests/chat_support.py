"""Shared helpers for the realtime-domain tests: a channel-layer inbox per user, a frozen
clock, putting users online, signing in."""

import asyncio
import threading
from datetime import UTC, datetime

import pytest
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers

from chat import presence
from tests.api_support import signed_in  # noqa: F401 - re-exported for chat tests


class Inbox:
    """A real channel in each user's group (`user.<id>`), as a connected socket has, each on its
    own layer instance, all on one event loop in a thread (channels_redis binds its receive
    buffer to a loop). Drained once: a receive that timed out can leave a blocking pop behind.
    With the clock frozen, channels_redis scores every message alike, so order is not kept."""

    def __init__(self, *users):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.channels = {}
        for user in users:
            layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
            channel = self._run(layer.new_channel())
            self._run(layer.group_add(f"user.{user.pk}", channel))
            self.channels[user.pk] = (layer, channel)

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def drain(self, quiet: float = 0.5) -> dict:
        """Every event each user got, in order, until `quiet` seconds pass without one."""

        async def collect(layer, channel):
            events = []
            while True:
                try:
                    message = await asyncio.wait_for(layer.receive(channel), quiet)
                except TimeoutError:
                    return events
                events.append(message["event"])

        async def collect_all():
            found = await asyncio.gather(*(collect(layer, channel) for layer, channel in self.channels.values()))
            return dict(zip(self.channels, found, strict=True))

        return self._run(collect_all())

    def types(self) -> dict:
        return {user_id: [event["type"] for event in events] for user_id, events in self.drain().items()}

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()  # channels_redis flushes its pools on close, in this (stopped) loop


@pytest.fixture
def inbox():
    inboxes = []

    def listen(*users) -> Inbox:
        inboxes.append(Inbox(*users))
        return inboxes[-1]

    yield listen
    for box in inboxes:
        box.close()


@pytest.fixture
def clock(time_machine):
    """Time stands still at a whole second until a test shifts it."""
    time_machine.move_to(datetime.now(UTC).replace(microsecond=0), tick=False)
    return time_machine


def now():
    return datetime.now(UTC)


def go_online(*users, modes=presence.MODES) -> None:
    for user in users:
        presence.touch(user.pk, f"test-channel-{user.pk}")
        presence.set_available(user.pk, True, modes)
