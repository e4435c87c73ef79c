"""The channel layer when a socket closes (pushes reach every live socket; a server
restart must not hang): all sockets of a process receive through one Redis queue, and the
receive of a closing socket is cancelled, possibly while it is the one blocked in BZPOPMIN
for everybody. That cancel must end it at once and must not take a message meant for
another socket of the process with it (config/channel_layer.py)."""

import asyncio

from django.conf import settings
from django.utils.module_loading import import_string

ROUNDS = 60


def make_layer():
    """The configured layer (its own prefix): the stock channels_redis one fails this."""
    default = settings.CHANNEL_LAYERS["default"]
    return import_string(default["BACKEND"])(**{**default["CONFIG"], "prefix": "rdv:test-cancel"})


async def cancel_the_popping_receive_as_a_message_for_another_socket_arrives(layer) -> tuple[int, int]:
    """(messages lost, cancelled receives still running 1 s after their cancel)."""
    lost = hanging = 0
    for n in range(ROUNDS):
        closing, staying = await layer.new_channel(), await layer.new_channel()
        popping = asyncio.ensure_future(layer.receive(closing))
        await asyncio.sleep(0.05)  # it takes the receive lock and blocks in BZPOPMIN
        waiting = asyncio.ensure_future(layer.receive(staying))
        await asyncio.sleep(0.01)
        await layer.send(staying, {"type": "push", "n": n})  # BZPOPMIN's reply is on its way…
        popping.cancel()  # …as the closing socket's receive is cancelled
        done, _ = await asyncio.wait([popping], timeout=1)
        hanging += not done
        try:
            assert (await asyncio.wait_for(waiting, 7))["n"] == n
        except TimeoutError:
            lost += 1
    return lost, hanging


async def test_a_cancelled_receive_ends_at_once_and_loses_no_message_of_another_socket():
    layer = make_layer()
    try:
        assert await cancel_the_popping_receive_as_a_message_for_another_socket_arrives(layer) == (0, 0)
    finally:
        await layer.flush()


async def test_a_message_taken_by_the_pop_of_a_cancelled_receive_goes_to_the_next_receive():
    layer = make_layer()
    try:
        closing, staying = await layer.new_channel(), await layer.new_channel()
        popping = asyncio.ensure_future(layer.receive(closing))
        await asyncio.sleep(0.05)
        popping.cancel()
        done, _ = await asyncio.wait([popping], timeout=1)
        assert done, "the cancelled receive is still running"

        await layer.send(staying, {"type": "push", "n": 1})  # the orphaned pop may take it

        assert (await asyncio.wait_for(layer.receive(staying), 7))["n"] == 1
    finally:
        await layer.flush()
