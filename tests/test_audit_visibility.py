"""Audit lines about a private act are visible only to those allowed to see the act (issue 23):
moderators, who may not see blocks or users' own exports, do not find their audit lines in the
admin's audit log (list, search, detail page); a superuser, or staff given the permission, do."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from chat.services.blocks import block_user, unblock_user
from moderation.models import AuditLog
from referrals.services import create_admin_invite_codes
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

AUDIT = reverse("admin:moderation_auditlog_changelist")


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def listed(client, **params) -> list[str]:
    response = client.get(AUDIT, params)
    assert response.status_code == 200
    return [row.event_type for row in response.context["cl"].result_list]


@pytest.fixture
def lines(alice, bob, moderator):
    block_user(alice, bob.pk)
    unblock_user(alice, bob.pk)
    create_admin_invite_codes(count=1, max_uses=1, actor=moderator)
    return AuditLog.objects.get(event_type="user.blocked")


def test_moderators_do_not_see_who_blocked_whom_in_the_audit_log(moderator, lines):
    client = logged_in(moderator)

    assert listed(client, q="user.blocked") == []
    assert listed(client, q="user.unblocked") == []
    assert listed(client) == ["invite_codes.created"]  # the rest of the log is still theirs
    detail = client.get(reverse("admin:moderation_auditlog_change", args=[lines.pk]))
    assert detail.status_code == 302  # "no such audit line", as for an id that never existed
    assert "Bob" not in client.get(AUDIT, {"q": "user.blocked"}).content.decode()


def test_a_superuser_sees_block_lines(lines):
    client = logged_in(UserFactory(staff=True, is_superuser=True))
    assert listed(client, q="user.") == ["user.unblocked", "user.blocked"]
    assert client.get(reverse("admin:moderation_auditlog_change", args=[lines.pk])).status_code == 200


def test_staff_allowed_to_view_blocks_see_their_audit_lines(moderator, lines):
    moderator.user_permissions.add(Permission.objects.get(content_type__app_label="chat", codename="view_block"))
    assert listed(logged_in(moderator), q="user.") == ["user.unblocked", "user.blocked"]
