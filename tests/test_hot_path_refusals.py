"""The hot path's one-statement services say which refusals commit: declared
@autocommit_with_committed_refusals, they refuse to run inside a caller's transaction (where a
refusal would roll back what it must commit), and what they commit before refusing stays."""

import uuid
from datetime import timedelta

import pytest
from django.db import transaction

from chat import services
from chat.errors import RoomEnded
from chat.models import ActiveRoom
from tests.chat_support import now
from tests.factories import ActiveRoomFactory


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "call",
    [
        lambda user: services.send_invite(user, to=uuid.uuid4(), mode="text", seconds=60),
        lambda user: services.accept_invite(user, invite_id=uuid.uuid4(), seconds=60),
        lambda user: services.decline_invite(user, invite_id=uuid.uuid4()),
        lambda user: services.cancel_invite(user, invite_id=uuid.uuid4()),
        lambda user: services.post_message(user, room_id=uuid.uuid4(), client_id="c1", text="hi"),
    ],
)
def test_a_service_whose_refusals_commit_refuses_to_run_inside_a_transaction(alice, call):
    with pytest.raises(RuntimeError, match="commits its refusals"), transaction.atomic():
        call(alice)


@pytest.mark.django_db(transaction=True)
def test_a_message_into_an_overdue_call_ends_it_for_good_and_is_refused(alice, bob):
    start = now() - timedelta(seconds=400)
    room = ActiveRoomFactory(
        user_1=alice, user_2=bob, duration_seconds=300, started_at=start, ends_at=start + timedelta(seconds=300)
    )
    with pytest.raises(RoomEnded):
        services.post_message(alice, room_id=room.pk, client_id="late", text="still there?")
    room = ActiveRoom.objects.get(pk=room.pk)
    assert (room.status, room.end_reason) == (ActiveRoom.Status.ENDED, ActiveRoom.EndReason.TIMER)
    assert not room.messages.exists()
