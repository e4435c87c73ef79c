"""What the accessibility browser tests share: axe-core (from npm, tests/a11y/package.json,
installed by `make test`), one live server per module, and the two sizes every screen is
checked at.

`audit(page, screen)` injects axe-core into the page and runs the WCAG 2.0/2.1 A and AA rules
plus axe's best practices at 1280×800 and at 390×844; the violations it finds are collected,
and `assert_clean` fails the test with all of them at once (rule, impact, elements)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.browser import read_code  # noqa: F401 - the a11y tests import it from here
from tests.live_stack import LiveStack

AXE = Path(__file__).resolve().parent / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
SIZES = ({"width": 1280, "height": 800}, {"width": 390, "height": 844})
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
WAIT_MS = 15_000

# WCAG 1.4.11 (non-text contrast) of form controls' borders: axe does not check it.
CONTROL_BORDERS = (Path(__file__).resolve().parent / "a11y" / "control-borders.js").read_text()


@pytest.fixture(scope="module")
def a11y_stack(django_db_setup, tmp_path_factory):
    """One uvicorn for the whole module (the tests flush the database between them, which the
    server only sees as an empty database); emails go to files under `stack.mail_dir`."""
    workdir = tmp_path_factory.mktemp("a11y-stack")
    mail_dir = workdir / "mail"
    mail_dir.mkdir()
    with LiveStack(workdir, extra_env={"EMAIL_URL": f"filemail:///{mail_dir}"}) as stack:
        stack.mail_dir = mail_dir
        yield stack


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make test` installs it (npm ci --prefix tests/a11y)")
    return AXE.read_text()


class Auditor:
    """Runs axe on a page at both sizes and keeps every violation by screen."""

    def __init__(self, source: str):
        self.source = source
        self.found: list[str] = []
        self.screens: list[str] = []

    def __call__(self, page, screen: str) -> None:
        original = page.viewport_size
        for size in SIZES:
            page.set_viewport_size(size)
            # page.evaluate runs over the DevTools protocol: our CSP (script-src 'self') allows it.
            if not page.evaluate("() => typeof window.axe === 'object'"):
                page.evaluate(self.source)
            result = page.evaluate(
                "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})"
                ".then((r) => r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,"
                " nodes: v.nodes.map((n) => n.target.join(' '))})))",
                TAGS,
            )
            for control in page.evaluate(CONTROL_BORDERS):
                self.found.append(
                    f"{screen} @{size['width']}x{size['height']}: control-border-contrast (serious) "
                    f"the border of {control['target']} is {control['ratio']}:1 against {control['against']} "
                    "(WCAG 1.4.11 asks 3:1)"
                )
            for violation in result:
                self.found.append(
                    f"{screen} @{size['width']}x{size['height']}: {violation['id']} ({violation['impact']}) "
                    f"{violation['help']}: {json.dumps(violation['nodes'][:4])}"
                )
        self.screens.append(screen)
        if original:
            page.set_viewport_size(original)

    def assert_clean(self, expected_screens: list[str]) -> None:
        assert self.screens == expected_screens, self.screens
        assert not self.found, "axe found violations:\n" + "\n".join(self.found)


@pytest.fixture
def audit(axe_source):
    return Auditor(axe_source)
