"""Fixtures shared by the tests in this folder (the cast lives in the root conftest.py)."""

import pytest

from tests.a11y_support import a11y_stack, audit, axe_source  # noqa: F401 - fixtures, found by pytest here
from tests.browser import browser, screenshots  # noqa: F401 - fixtures, found by pytest here
from tests.chat_support import clock, inbox  # noqa: F401 - fixtures, found by pytest here
from tests.live_stack import LiveStack
from tests.screening_support import marker_classifier  # noqa: F401 - a fixture, found by pytest here
from tests.ws_helpers import Sockets, assert_frames_match_asyncapi


@pytest.fixture
async def ws(transactional_db):
    """A registry of WebSocket test clients, all disconnected at teardown; every frame they
    received must match the AsyncAPI document (chat/asyncapi.py)."""
    sockets = Sockets()
    yield sockets
    await sockets.close_all()
    assert_frames_match_asyncapi()


@pytest.fixture
def live_stack(transactional_db, tmp_path):
    """`live_stack("asgi", "worker", "beat")` starts those real processes on the test database
    and Redis (see tests/live_stack.py); all are stopped at teardown."""
    stacks: list[LiveStack] = []

    def start(*processes: str, extra_env: dict | None = None, **options) -> LiveStack:
        stack = LiveStack(tmp_path, processes=processes or ("asgi",), extra_env=extra_env, **options)
        stacks.append(stack)
        stack.start()
        return stack

    yield start
    for stack in stacks:
        stack.stop()


@pytest.fixture
def connect_receiver():
    """`connect_receiver(signal, fn)`: fn receives the signal (besides the apps' own receivers)
    for this test only; disconnected at teardown."""
    connected = []

    def connect(signal, receiver):
        signal.connect(receiver, weak=False)
        connected.append((signal, receiver))

    yield connect
    for signal, receiver in connected:
        signal.disconnect(receiver)


@pytest.fixture
def count_each_report(settings):
    """Tests of what a ban does (not of when it fires): every reporter counts alone and four
    fresh ones (0.2 each) reach the threshold, as the original 4-reporter rule did."""
    settings.AUTO_BAN_WEIGHT = 0.8
    settings.REPORT_LINK_WAVE_MINUTES = -1
    settings.REPORT_LINK_NETWORK_DAYS = -1
