"""Browser security headers and production settings (docs/security.md).

A strict CSP (django-csp) on every HTML page, scripts only from our origin and no inline script
in any template; the media and evidence responses keep their own sandbox CSP; and
`manage.py check --deploy` with the production example env of docs/security.md reports nothing."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parent.parent


def directives(header: str) -> dict[str, list[str]]:
    parts = (part.strip().split() for part in header.split(";") if part.strip())
    return {part[0]: part[1:] for part in parts}


@pytest.mark.parametrize("path", ["/", "/history", "/settings", "/admin/login/"])
def test_every_html_page_has_a_strict_csp(db, path):
    response = Client().get(path)

    assert response.status_code == 200
    policy = directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]


def test_the_api_docs_page_has_no_inline_script_and_a_csp_for_its_cdn(db):
    response = Client().get("/api/docs/")

    assert response.status_code == 200
    policy = directives(response["Content-Security-Policy"])
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'self'" in policy["script-src"]
    assert not re.search(rb"<script>(?!\s*</script>)", response.content)  # every script has a src


def test_the_web_client_allows_the_gif_hosts_as_images(db, settings):
    policy = directives(Client().get("/")["Content-Security-Policy"])
    for host in settings.GIF_HOSTS:
        assert f"https://{host}" in policy["img-src"]


TEMPLATE_DIRS = [ROOT / "templates", ROOT / "moderation" / "templates"]


def test_no_template_has_an_inline_script_or_event_handler():
    offenders = []
    for directory in TEMPLATE_DIRS:
        for template in directory.rglob("*.html"):
            text = template.read_text()
            for match in re.finditer(r"<script(?![^>]*\bsrc=)[^>]*>", text):
                offenders.append(f"{template.relative_to(ROOT)}: {match.group(0)}")
            for match in re.finditer(r"\son[a-z]+\s*=", text):
                offenders.append(f"{template.relative_to(ROOT)}: {match.group(0)}")
            if "javascript:" in text:
                offenders.append(f"{template.relative_to(ROOT)}: javascript: URL")
    assert offenders == []


def test_media_responses_keep_their_sandbox_policy():
    from config.middleware import CSP_PATH_UPDATES

    assert not any(prefix.startswith("/media") for prefix in CSP_PATH_UPDATES)
    # serve_media sets its own header; django-csp never overwrites a header already set.
    source = (ROOT / "config" / "media.py").read_text()
    assert "default-src 'none'; sandbox" in source


# --- manage.py check --deploy with docs/security.md's production example -------------------------------


def production_example_env() -> dict[str, str]:
    """The ```env block under "Production example" in docs/security.md."""
    page = (ROOT / "docs" / "security.md").read_text()
    section = page.split("## Production example", 1)[1]
    block = re.search(r"```env\n(.*?)```", section, re.S).group(1)
    pairs = (line.split("=", 1) for line in block.splitlines() if line.strip() and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def run_check_deploy(extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST") and k not in ("DEBUG",)}
    env.update(extra)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_with_the_production_example_reports_nothing():
    example = production_example_env()
    assert example["DEBUG"] == "0"

    result = run_check_deploy(example)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_without_the_https_settings_warns():
    """The test above can fail: drop the HTTPS settings and the four warnings come back."""
    example = production_example_env()
    for key in ("SECURE_HSTS_SECONDS", "SECURE_SSL_REDIRECT", "SECURE_COOKIES"):
        example.pop(key)

    result = run_check_deploy(example)

    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stdout + result.stderr


# --- SITE_URL follows the address `make run` binds -----------------------------------------------


def test_make_runs_site_url_is_the_address_it_binds():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import stack
    finally:
        sys.path.pop(0)

    assert stack.site_url("127.0.0.1", "8012") == "http://127.0.0.1:8012"
    assert stack.site_url("0.0.0.0", "9000") == "http://127.0.0.1:9000"  # noqa: S104
    assert stack.site_url("::1", "8000") == "http://[::1]:8000"


def test_the_web_clients_scripts_need_no_eval_or_inline_handlers():
    """script-src 'self' without 'unsafe-eval': the client's own JS must not need it either."""
    offenders = []
    for script in (ROOT / "static" / "rdv").glob("*.js"):
        text = script.read_text()
        for pattern in (
            r"\beval\(",
            r"new Function\(",
            r"set(Timeout|Interval)\(\s*['\"`]",
            r"\son[a-z]+=",
            "javascript:",
        ):
            offenders += [f"{script.name}: {m.group(0)}" for m in re.finditer(pattern, text)]
    assert offenders == []
