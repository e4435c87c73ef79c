"""The README's `make manage ARGS=…` commands, run exactly as written, through make, on the
test database, with no DEBUG in the environment (as a new user's shell would have): `make
manage` must give them `make run`'s environment (DEBUG on), so `wipe_database --yes` is not
refused as if this were production. Also: make run's console backend frames emails."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.test import override_settings

from accounts.models import User
from moderation.models import AuditLog
from referrals.models import InviteCode
from tests.api_support import PASSWORD
from tests.factories import UserFactory
from tests.live_stack import ROOT, LiveStack

DOCUMENTED = [
    'make manage ARGS="wipe_database --yes"',
    'make manage ARGS="create_admin_invite_codes --count 1"',
    'make manage ARGS="make_moderator someone@usc.edu"',
    "make manage ARGS=recover_rooms",
    "make manage ARGS=persistence_check",
]


def documented_commands() -> set[str]:
    text = "\n".join(path.read_text() for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
    return set(re.findall(r'make manage ARGS=(?:"[^"]*"|[a-z_]+)', text))


def make_env(tmp_path: Path) -> dict:
    env = LiveStack(tmp_path).env  # the test database and Redis, as the live-server tests use them
    for name in ("DEBUG", "DB_CONN_MAX_AGE", "PYTHONUNBUFFERED"):
        env.pop(name, None)
    env.pop("MAKEFLAGS", None)
    return env


def run(command: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.django_db(transaction=True)
def test_the_readme_manage_commands_work_as_written(tmp_path):
    assert set(DOCUMENTED) <= documented_commands()
    env = make_env(tmp_path)
    someone = UserFactory(email="someone@usc.edu", name="Someone")
    someone.set_password(PASSWORD)
    someone.save()

    wiped = run(DOCUMENTED[0], env)
    assert wiped.returncode == 0, wiped.stdout + wiped.stderr
    assert "DEBUG is off" not in wiped.stdout + wiped.stderr
    assert not User.objects.exists()
    assert AuditLog.objects.filter(event_type="database.wiped").exists()

    codes = run(DOCUMENTED[1], env)
    assert codes.returncode == 0, codes.stdout + codes.stderr
    (code,) = InviteCode.objects.values_list("code", flat=True)
    assert code in codes.stdout

    someone = UserFactory(email="someone@usc.edu", name="Someone")
    someone.set_password(PASSWORD)
    someone.save()
    made = run(DOCUMENTED[2], env)
    assert made.returncode == 0, made.stdout + made.stderr
    someone.refresh_from_db()
    assert someone.is_staff and someone.groups.filter(name="moderators").exists()

    for command in DOCUMENTED[3:]:
        done = run(command, env)
        assert done.returncode == 0, command + "\n" + done.stdout + done.stderr
    assert "VIOLATION" not in done.stdout


@override_settings(EMAIL_BACKEND="config.mail.EmailBackend")
def test_the_development_email_backend_frames_each_message(capsys):
    mail.send_mail("Your code", "Your code is 123456.", "no-reply@localhost", ["amy@usc.edu"])
    out = capsys.readouterr().out
    assert re.search(r"=+ EMAIL .*=+\nTo: amy@usc.edu   Subject: Your code\nYour code is 123456.\n=+\n", out), out


def test_consolemail_selects_the_framed_backend():
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.EMAIL_BACKEND)",
        ],
        cwd=ROOT,
        env={
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "1",
            "EMAIL_URL": "consolemail://",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
    )
    assert probe.stdout.strip() == "config.mail.EmailBackend", probe.stderr


def test_the_readme_links_only_into_this_repository():
    """A clone of this repository alone has every document the README and docs/ point to."""
    for path in [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text()
        assert "../shared" not in text and "SPEC" + ".md" not in text, path
        for target in re.findall(r"\]\(((?!https?://|#)[^)#\s]+)", text):
            assert (path.parent / target).exists(), f"{path.name} links to missing {target}"
    readme = (ROOT / "README.md").read_text()
    for doc in (
        "architecture",
        "api",
        "protocol",
        "configuration",
        "data-model",
        "moderation",
        "security",
        "operations",
        "observability",
        "performance",
        "hot-path",
        "deploy",
    ):
        assert f"(docs/{doc}.md)" in readme
