"""Playwright driving Debian's Chromium (`make test` installs the package when missing).

Fixtures (registered in tests/conftest.py):
- `browser`: one headless Chromium per test module.
- `screenshots`: `screenshots(page, "step")` saves artifacts/<test name>/<n>-<step>.png.
"""

from __future__ import annotations

import os
import re
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
