"""The Redis channel layer under an idle WebSocket (found by the browser test: sockets closed
after 5 idle seconds)."""

import asyncio

from channels.layers import get_channel_layer


async def test_an_idle_receive_outlives_redis_socket_timeout_and_still_gets_the_message():
    """channels_redis blocks 5 s in BZPOPMIN per receive; redis-py's default socket timeout is
    also 5 s, so an idle consumer's receive raised TimeoutError and its socket closed."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    waiting = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(7)
    assert not waiting.done(), waiting.exception() if waiting.done() else None
    await layer.send(channel, {"type": "hello"})
    assert (await asyncio.wait_for(waiting, 10))["type"] == "hello"
    await layer.flush()
