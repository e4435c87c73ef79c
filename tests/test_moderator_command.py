"""manage.py make_moderator: staff in the moderators group, with an audit row."""

import pytest
from django.core.management import CommandError, call_command

from moderation.models import AuditLog
from moderation.roles import MODERATORS_GROUP
from tests.factories import UserFactory


def test_make_moderator_makes_staff_in_the_group_and_can_take_it_back(db):
    user = UserFactory(permanent=True, email="mod@usc.edu")

    call_command("make_moderator", "MOD@usc.edu")
    user.refresh_from_db()
    assert user.is_staff and user.groups.filter(name=MODERATORS_GROUP).exists()
    assert user.has_perm("moderation.change_userban") and not user.has_perm("auth.change_group")

    call_command("make_moderator", "mod@usc.edu", "--remove")
    user.refresh_from_db()
    assert not user.is_staff and not user.groups.exists()
    assert list(AuditLog.objects.order_by("pk").values_list("event_type", flat=True)) == [
        "moderator.added",
        "moderator.removed",
    ]


def test_make_moderator_of_an_unknown_email_fails(db):
    with pytest.raises(CommandError, match="no account"):
        call_command("make_moderator", "nobody@usc.edu")
