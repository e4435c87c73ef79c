"""manage.py create_admin_invite_codes."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from moderation.models import AuditLog
from referrals.models import InviteCode

pytestmark = pytest.mark.django_db


def test_command_creates_admin_codes_and_prints_them_with_one_audit_line():
    out = StringIO()
    call_command("create_admin_invite_codes", "--count", "3", "--max-uses", "50", stdout=out)
    printed = out.getvalue().split()
    codes = InviteCode.objects.filter(pk__in=printed)
    assert len(printed) == 3 and codes.count() == 3
    assert all(c.type == "admin" and c.max_uses == 50 and c.uses_remaining == 50 for c in codes)
    audit = AuditLog.objects.get(event_type="invite_codes.created")
    # Never in clear (the audit log is kept for ever): the last 4 characters find them.
    assert "codes" not in audit.details
    assert sorted(audit.details["code_suffixes"]) == sorted(code[-4:] for code in printed)
    assert not any(code in str(audit.details) for code in printed)


def test_command_default_is_one_unlimited_code():
    out = StringIO()
    call_command("create_admin_invite_codes", stdout=out)
    code = InviteCode.objects.get(pk=out.getvalue().strip())
    assert code.max_uses is None and code.uses_remaining is None


def test_command_refuses_a_bad_count():
    with pytest.raises(CommandError):
        call_command("create_admin_invite_codes", "--count", "0")
    assert InviteCode.objects.count() == 0
