"""A real TURN relay: Debian's coturn, started by the test on free ports with a shared secret,
and the web client's video call between two Chromium clients with fake cameras, forced to
**relay only** (`iceTransportPolicy: "relay"`, so no direct path can hide a broken relay), with
the credentials `GET /api/rtc/ice-servers` hands out. The same coturn refuses a credential made
with the wrong secret and one whose expiry has passed: no relay candidate at all."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts.services.sessions import start_session
from tests.browser import CHROMIUM, wait_for_js
from tests.factories import UserFactory
from tests.live_stack import free_port
from tests.test_web_client_browser import WAIT_MS, reel_card

TURNSERVER = Path(os.environ.get("TURNSERVER_PATH", "/usr/bin/turnserver"))
SECRET = "turn-test-shared-secret"

# Every RTCPeerConnection of the page is relay-only, and kept for the test to read its stats.
RELAY_ONLY = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__peerConnections = [];
  window.__iceConfigs = [];
  window.RTCPeerConnection = function (config, ...rest) {
    const relayOnly = { ...(config || {}), iceTransportPolicy: "relay" };
    window.__iceConfigs.push(relayOnly);
    const pc = new Native(relayOnly, ...rest);
    window.__peerConnections.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
})();
"""

# The type of the local candidate of the pair ICE selected ("relay" when through coturn).
SELECTED_LOCAL_TYPE = """
async () => {
  for (const pc of window.__peerConnections) {
    if (pc.connectionState !== "connected") continue;
    const stats = await pc.getStats();
    for (const report of stats.values()) {
      if (report.type === "candidate-pair" && report.state === "succeeded" && report.nominated) {
        return stats.get(report.localCandidateId).candidateType;
      }
    }
  }
  return null;
}
"""

# Relay candidates gathered with the page's own ICE servers from the API (no call needed).
RELAY_CANDIDATES = """
async (token) => {
  const response = await fetch("/api/rtc/ice-servers", { headers: { Authorization: "Bearer " + token } });
  const { ice_servers } = await response.json();
  const pc = new RTCPeerConnection({ iceServers: ice_servers, iceTransportPolicy: "relay" });
  pc.createDataChannel("probe");
  const found = [];
  pc.onicecandidate = (event) => {
    if (event.candidate && event.candidate.candidate) found.push(event.candidate.candidate);
  };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    const done = () => pc.iceGatheringState === "complete" && resolve();
    pc.onicegatheringstatechange = done;
    done();
    setTimeout(resolve, 15000);
  });
  pc.close();
  return { servers: ice_servers, candidates: found.filter((line) => line.includes(" typ relay")) };
}
"""


@pytest.fixture
def coturn(tmp_path):
    """coturn on loopback, on a free port, checking credentials with SECRET; stopped after."""
    if not TURNSERVER.exists():
        if os.environ.get("RDV_NO_APT"):
            pytest.skip(f"{TURNSERVER} is missing and apt-get is not available: TURN relay test skipped")
        pytest.fail(f"{TURNSERVER} is missing: `make test` installs Debian's coturn (apt-get install coturn)")
    port = free_port()
    low = random.randrange(20000, 60000, 100)
    log = open(tmp_path / "turnserver.log", "ab")  # noqa: SIM115 - lives as long as the child
    command = [
        str(TURNSERVER),
        *("-n", "--no-cli", "--no-tls", "--no-dtls", "--fingerprint", "--simple-log", "--log-file", "stdout"),
        *("--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1", "--listening-port", str(port)),
        *("--min-port", str(low), "--max-port", str(low + 99)),
        *("--use-auth-secret", "--static-auth-secret", SECRET, "--realm", "rendezvous.test"),
        # Both browsers are on this machine: the relay must reach loopback (production denies it).
        "--allow-loopback-peers",
        *("--pidfile", str(tmp_path / "turnserver.pid"), "--db", str(tmp_path / "turndb")),
    ]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((tmp_path / "turnserver.log").read_text()) from None
            time.sleep(0.1)
    process.log_path = tmp_path / "turnserver.log"
    process.url = f"turn:127.0.0.1:{port}?transport=udp"
    yield process
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


def turn_env(coturn, **extra) -> dict:
    return {"TURN_URLS": coturn.url, "TURN_SECRET": SECRET, "STUN_URLS": "", **extra}


def test_a_video_call_connects_relay_only_through_coturn_with_the_api_credentials(
    coturn, live_stack, browser, screenshots
):
    alice, bob = UserFactory(name="Alice"), UserFactory(name="Bob")
    stack = live_stack("asgi", extra_env=turn_env(coturn))
    cameras = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"],
    )
    try:
        pages = {}
        for user in (alice, bob):
            context = cameras.new_context(permissions=["camera", "microphone"])
            token = start_session(user, ip="127.0.0.1")
            context.add_init_script(f"window.localStorage.setItem('rdv.token', {json.dumps(token)})")
            context.add_init_script(RELAY_ONLY)
            pages[user.name] = page = context.new_page()
            page.set_default_timeout(WAIT_MS)
            page.goto(stack.url + "/")
        alice_page, bob_page = pages["Alice"], pages["Bob"]
        alice_page.select_option("#invite-mode", "video")
        reel_card(alice_page, "Bob").locator("button.invite").click()
        bob_page.click("#incoming-accept")
        for page, user in ((alice_page, alice), (bob_page, bob)):
            expect(page.locator("#video-area")).to_be_visible()
            wait_for_js(page, "document.getElementById('remote-video').videoWidth > 0", timeout=45_000)
            assert page.evaluate(SELECTED_LOCAL_TYPE) == "relay"
            (config,) = page.evaluate("window.__iceConfigs")
            (turn,) = [server for server in config["iceServers"] if "turn:" in str(server["urls"])]
            assert turn["username"].endswith(f":{user.pk}") and turn["credential"]
        screenshots(alice_page, "relay-only-video-call")
    finally:
        cameras.close()


@pytest.mark.parametrize(
    ("stack_env", "relayed"),
    [
        ({}, True),  # the control: the right secret, a fresh credential
        ({"TURN_SECRET": "not-the-" + SECRET}, False),
        ({"TURN_CREDENTIAL_TTL": "-60"}, False),  # expired a minute ago
    ],
    ids=["right_secret", "wrong_secret", "expired"],
)
def test_coturn_relays_only_with_a_right_and_unexpired_credential(coturn, live_stack, browser, stack_env, relayed):
    alice = UserFactory(name="Alice")
    stack = live_stack("asgi", extra_env=turn_env(coturn, **stack_env))
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto(stack.url + "/")
        result = page.evaluate(RELAY_CANDIDATES, start_session(alice, ip="127.0.0.1"))
        assert any("turn:" in str(server["urls"]) for server in result["servers"])
        assert bool(result["candidates"]) is relayed, result
    finally:
        context.close()
