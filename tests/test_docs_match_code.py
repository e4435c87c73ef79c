"""The lists in docs/ are the code's lists: every persistence invariant, retention policy,
setting read from the environment, REST endpoint and WebSocket frame type is documented, and
nothing documented is missing from the code. A new rule, variable, endpoint or frame fails
here until its page says what it is."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

from drf_spectacular.generators import SchemaGenerator

from chat.asyncapi import document

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# Pages about the API rather than API endpoints.
DOC_PAGES = {"/api/docs/", "/api/redoc/", "/api/schema/", "/api/asyncapi.json"}


def module(*names: str):
    """The first of these modules that exists (a module may move between apps)."""
    for name in names:
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError:
            continue
    raise ModuleNotFoundError(names)


def section(page: str, heading: str) -> str:
    """The text of `## heading…` in a docs page, up to the next heading of the same level."""
    text = (DOCS / page).read_text()
    match = re.search(rf"^(#+) {re.escape(heading)}.*?$(.*?)(?=^\1 |\Z)", text, re.M | re.S)
    assert match, f"{page} has no section {heading!r}"
    return match.group(2)


def first_column(text: str) -> set[str]:
    """Backticked names in the first column of the Markdown tables in `text`."""
    names = set()
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| ---"):
            names |= set(re.findall(r"`([^`]+)`", line.split("|")[1]))
    return names


def test_every_persistence_invariant_is_in_operations_and_only_those():
    invariants = module("operations.invariants", "moderation.invariants")
    assert first_column(section("operations.md", "persistence_check")) == set(invariants.CHECKS)


def test_every_retention_policy_is_in_operations_and_only_those():
    retention = module("operations.retention", "moderation.retention")
    source = inspect.getsource(retention)
    policies = set(re.findall(r"settings\.(RETENTION_\w+_DAYS)", source))
    assert len(policies) == len(re.findall(r"^        \"\w+\": \w+\(now=now", source, re.M))
    documented = first_column(section("operations.md", "Retention"))
    assert {name for name in documented if name.endswith("_DAYS")} == policies
    assert "RETENTION_BATCH_SIZE" in documented


def settings_read_from_the_environment() -> set[str]:
    source = (ROOT / "config" / "settings.py").read_text()
    return set(re.findall(r"(?:env(?:\.\w+)?|_every)\(\s*\"([A-Z][A-Z0-9_]+)\"", source))


def variables_read_anywhere() -> str:
    """Every Python source of the project (settings, scripts, tests, bench), for the names
    the configuration page lists that are read outside settings (PORT, CHROMIUM_PATH…)."""
    skip = {".venv", "var", "node_modules", ".git"}
    return "\n".join(
        path.read_text()
        for path in ROOT.rglob("*.py")
        if not skip & set(path.relative_to(ROOT).parts) and "migrations" not in path.parts
    )


# Read from the environment, but set by a tool, not by whoever configures the site.
NOT_SETTINGS = {"PYTEST_XDIST_WORKER"}


def test_every_setting_read_from_the_environment_is_in_configuration_and_only_those():
    page = (DOCS / "configuration.md").read_text()
    variables = {name for name in first_column(page) if re.fullmatch(r"[A-Z][A-Z0-9_]+", name)}
    mentioned = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", page))
    assert settings_read_from_the_environment() - NOT_SETTINGS - mentioned == set()
    everywhere = variables_read_anywhere()
    assert {name for name in variables if f'"{name}"' not in everywhere} == set()


def normalized(path: str) -> str:
    return re.sub(r"[{<][^}>]*[}>]", "<>", path)


def test_every_rest_endpoint_is_in_the_api_page_and_only_those():
    paths = {normalized(path) for path in SchemaGenerator().get_schema(request=None, public=True)["paths"]}
    text = re.sub(r"<[^>\n]*>", "<>", (DOCS / "api.md").read_text())
    documented = {normalized(found.rstrip(".,;:)")) for found in re.findall(r"/api/[^\s`|?]+", text)}
    assert paths - documented == set()
    assert documented - DOC_PAGES - paths == set()


def test_every_websocket_frame_type_is_in_the_protocol_page_and_only_those():
    messages = document()["components"]["messages"]
    for direction, heading in (("client", "Client → server"), ("server", "Server → client")):
        types = {key.split(".", 1)[1] for key in messages if key.startswith(f"{direction}.")}
        assert first_column(section("protocol.md", heading)) == types, direction


def test_pre_commit_runs_the_checks_of_make_lint():
    """.pre-commit-config.yaml runs what `make lint` runs (ruff, its formatting, the import
    contracts), with the tools pinned in .venv."""
    import yaml

    hooks = [
        hook
        for repo in yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())["repos"]
        for hook in repo["hooks"]
    ]
    entries = [hook["entry"] for hook in hooks]
    makefile = (ROOT / "Makefile").read_text()
    for command in ("ruff check", "ruff format --check", "lint-imports --no-cache"):
        assert any(command in entry for entry in entries), command
        assert command in makefile, command
    assert all(entry.startswith(".venv/bin/") for entry in entries)


def test_no_tracked_file_cites_a_document_outside_the_repository():
    """The rules are written where they apply: no file points at a spec or style guide that a
    clone of this repository does not have."""
    import subprocess

    outside = re.compile("SPEC" + r" ?§|SPEC\.md|" + "STYLE" + r"\.md")
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    citing = []
    for name in tracked:
        path = ROOT / name
        if path.suffix in {".png", ".jpg", ".ico", ".gif", ".mp4", ".webm"} or not path.is_file():
            continue
        text = path.read_text(errors="ignore")
        if outside.search(text):
            citing.append(name)
    assert citing == []
