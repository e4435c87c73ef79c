"""Playwright driving Debian's Chromium (`make test` installs the package when missing).

Fixtures (registered in tests/conftest.py):
- `browser`: one headless Chromium per test module.
- `screenshots`: `screenshots(page, "step")` saves artifacts/<test name>/<n>-<step>.png.

Helpers shared by the browser tests: `read_code` (a sign-in code from the file email backend),
`reel_card` (a person's card in the reel), `fake_camera_pages` (signed-in pages of a Chromium
with fake cameras, for video calls).
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR", ROOT / "artifacts"))
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("RDV_NO_APT"):
            pytest.skip(f"{CHROMIUM} is missing and apt-get is not available: browser tests skipped")
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django would then refuse the
    # ORM calls the test itself makes. Allowed only while a browser is open.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def screenshots(request):
    folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    taken: list[Path] = []

    def take(page, step: str) -> Path:
        path = folder / f"{len(taken) + 1:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        taken.append(path)
        return path

    take.folder = folder
    take.taken = taken
    return take


def wait_for_js(page, expression: str, *, timeout: float = 10_000) -> None:
    """page.wait_for_function for our pages: Playwright evaluates a string predicate with eval,
    which their CSP (script-src 'self', no unsafe-eval) forbids; page.evaluate is not affected."""
    import time

    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(f"() => Boolean({expression})"):
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} ms: {expression}")
        time.sleep(0.1)


def read_code(mail_dir: Path, address: str, timeout: float = 15) -> str:
    """The 6-digit code of the newest email to `address` written by the file email backend."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(mail_dir.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True):
            text = path.read_text(errors="replace")
            for message in reversed(text.split("-" * 79)):
                if f"To: {address}" in message:
                    found = re.search(r"\b(\d{6})\b", message.split("\n\n", 1)[-1])
                    if found:
                        return found.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no email with a code reached {address} in {mail_dir}")


def reel_card(page, name: str):
    return page.locator("#reel-list li.person").filter(has=page.locator(".person-name", has_text=name))


def fake_camera_pages(browser, users, url: str, *, timeout_ms: int):
    """A second Chromium whose camera and microphone are fakes (a test pattern and a tone),
    granted without a prompt, and one signed-in page per user on `url`: (that browser, {name:
    page}). The caller closes the browser."""
    from accounts.services.sessions import start_session

    cameras = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[
            "--no-sandbox",
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            "--disable-features=WebRtcHideLocalIpsWithMdns",
        ],
    )
    pages = {}
    for user in users:
        context = cameras.new_context(permissions=["camera", "microphone"])
        token = start_session(user, ip="127.0.0.1")
        context.add_init_script(f"window.localStorage.setItem('rdv.token', {json.dumps(token)})")
        pages[user.name] = page = context.new_page()
        page.set_default_timeout(timeout_ms)
        page.goto(url)
    return cameras, pages
