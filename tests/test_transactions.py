"""Refusals say whether they commit (config/transactions.py): `raise` rolls the service's
transaction back; `commit_then_refuse` commits what was written, then raises; a service that
returns an error instead is a bug. Run on real transactions (transaction=True): what
"persists" is what another connection can read after the call."""

from datetime import timedelta

import pytest
from django.db import transaction

from audit.services import record_audit
from chat.errors import RoomEnded
from chat.models import ActiveRoom
from chat.services import request_upgrade
from config.errors import Conflict
from config.transactions import commit_then_refuse, durable_with_committed_refusals
from moderation.models import AuditLog
from tests.factories import ActiveRoomFactory

pytestmark = pytest.mark.django_db(transaction=True)


class Refused(Conflict):
    code = "refused"
    message = "Refused."


@durable_with_committed_refusals
def _write_then(how: str):
    record_audit("test.written")
    if how == "commit_then_refuse":
        commit_then_refuse(Refused())
    if how == "raise":
        raise Refused()
    if how == "return":
        return Refused()
    return "done"


def test_commit_then_refuse_keeps_what_was_written_and_still_raises():
    with pytest.raises(Refused):
        _write_then("commit_then_refuse")

    assert AuditLog.objects.filter(event_type="test.written").count() == 1


def test_a_raised_refusal_rolls_the_service_back():
    with pytest.raises(Refused):
        _write_then("raise")

    assert not AuditLog.objects.filter(event_type="test.written").exists()


def test_a_service_that_returns_an_error_gets_a_type_error_not_a_silent_refusal():
    with pytest.raises(TypeError):
        _write_then("return")

    assert AuditLog.objects.filter(event_type="test.written").count() == 1  # committed, then the bug is loud


def test_a_result_commits_and_is_returned():
    assert _write_then("ok") == "done"
    assert AuditLog.objects.filter(event_type="test.written").count() == 1


def test_commit_then_refuse_inside_a_nested_atomic_block_is_an_error_not_a_silent_rollback():
    @durable_with_committed_refusals
    def nested():
        record_audit("test.written")
        with transaction.atomic(savepoint=False):
            commit_then_refuse(Refused())

    with pytest.raises(RuntimeError):
        nested()
    assert not AuditLog.objects.filter(event_type="test.written").exists()


def test_an_action_in_an_overdue_room_ends_it_for_good_then_is_refused(alice, bob, clock):
    """end_overdue_then_refuse: the room's end commits, the action still gets RoomEnded."""
    room = ActiveRoomFactory(user_1=alice, user_2=bob, chat_mode="text", duration_seconds=300)
    clock.shift(timedelta(seconds=301))

    with pytest.raises(RoomEnded):
        request_upgrade(alice, room_id=room.pk)

    room.refresh_from_db()
    assert room.status == ActiveRoom.Status.ENDED
    assert room.end_reason == "timer"
