"""Blocks over real sockets and real concurrent connections (issue 19): a blocked user's
presence never reaches the blocker's socket and the other way round; over /ws/ an invite
either way gets the same error frame as one to someone offline; and a block racing an accept
never leaves the two in a live call with a block between them."""

import json

import pytest
from django.core.management import call_command
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q

from chat import consumers, presence
from chat.models import ActiveRoom, Block, CallInvite
from chat.services import accept_invite, send_invite
from chat.services.blocks import block_user
from config.errors import ServiceError
from moderation.models import AuditLog
from operations.user_data import user_document
from tests.backup_support import export
from tests.concurrency import run_in_parallel
from tests.factories import UserFactory
from tests.ws_helpers import run

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 5


async def presence_heard(socket, *, timeout: float = 0.6) -> set[str]:
    """The user ids in every presence.update this socket receives within `timeout`."""
    frames = await socket.collect(timeout=timeout, ignore=())
    return {u["user"] for f in frames if f.get("type") == "presence.update" for u in f["users"]}


async def test_presence_never_crosses_a_block_either_way(ws, alice, bob, stranger, monkeypatch):
    monkeypatch.setattr(consumers.PresenceBatch, "INTERVAL_SECONDS", 0.05)
    await run(block_user)(alice, bob.pk)
    a = await ws.connect(alice)
    watcher = await ws.connect(stranger)

    b = await ws.connect(bob, available=True)  # bob goes online and available

    seen = await watcher.receive_until("presence.update")
    assert str(bob.pk) in {u["user"] for u in seen["users"]}  # the control: others hear bob
    assert str(bob.pk) not in await presence_heard(a)

    await ws.connect(alice, available=True)  # now alice changes: bob must not hear it
    seen = await watcher.receive_until("presence.update")
    assert str(alice.pk) in {u["user"] for u in seen["users"]}
    assert str(alice.pk) not in await presence_heard(b)


async def test_a_block_takes_each_out_of_the_others_reel_at_once_as_going_offline(ws, alice, bob):
    a = await ws.connect(alice, available=True)
    b = await ws.connect(bob, available=True)
    await a.collect(timeout=0.3, ignore=())
    await b.collect(timeout=0.3, ignore=())

    await run(block_user)(bob, alice.pk)

    for socket, other in ((a, bob), (b, alice)):
        update = await socket.receive_until("presence.update")
        assert update["users"] == [{"user": str(other.pk), "online": False, "available": False}]


@pytest.mark.parametrize("direction", ["blocker_invites", "blocked_invites"])
async def test_ws_invite_across_a_block_gets_the_frame_of_an_absent_person(ws, alice, bob, stranger, direction):
    await run(block_user)(alice, bob.pk)
    caller, callee = (alice, bob) if direction == "blocker_invites" else (bob, alice)
    socket = await ws.connect(caller)
    await ws.connect(callee, available=True)

    blocked = await socket.refused(
        {"type": "call.invite", "to": str(callee.pk), "mode": "video", "seconds": 300}, "not_available"
    )
    absent = await socket.refused(
        {"type": "call.invite", "to": str(stranger.pk), "mode": "video", "seconds": 300}, "not_available"
    )

    assert {k: v for k, v in blocked.items() if k != "id"} == {k: v for k, v in absent.items() if k != "id"}


def online_pair():
    users = [UserFactory() for _ in range(2)]
    for user in users:
        presence.touch(user.pk, f"test-channel-{user.pk}")
        presence.set_available(user.pk, True)
    return users


@pytest.mark.parametrize("round_", range(ROUNDS))
@pytest.mark.parametrize("blocker_side", ["callee", "caller"])
def test_a_block_racing_an_accept_never_leaves_a_live_call_across_it(round_, blocker_side):
    caller, callee = online_pair()
    invite = send_invite(caller, to=callee.pk, mode="video", seconds=300)
    blocker, blocked = (callee, caller) if blocker_side == "callee" else (caller, callee)

    def work(index):
        if index == 0:
            return block_user(blocker, blocked.pk)
        return accept_invite(callee, invite_id=invite.pk, seconds=300)

    results = run_in_parallel(2, work)

    assert not isinstance(results[0], Exception), results
    assert Block.objects.filter(blocker=blocker, blocked=blocked).count() == 1
    live = ActiveRoom.objects.filter(Q(user_1=caller) | Q(user_2=caller)).exclude(status=ActiveRoom.Status.ENDED)
    assert not live.exists()  # either the accept lost, or the block ended the room it made
    invite.refresh_from_db()
    if isinstance(results[1], ActiveRoom):
        assert invite.status == CallInvite.Status.ACCEPTED
        assert results[0].block and ActiveRoom.objects.get(pk=results[1].pk).status == ActiveRoom.Status.ENDED
    else:
        assert results[1].code == "not_available", results[1]
        assert invite.status == CallInvite.Status.CANCELLED


def test_a_block_survives_export_wipe_and_import(alice, bob, tmp_path, settings):
    settings.DEBUG = True  # the wipe's development mode
    block_user(alice, bob.pk)

    export(tmp_path / "backup")
    call_command("wipe_database", "--yes")
    assert not Block.objects.exists()
    call_command("import_data", str(tmp_path / "backup"), "--no-progress")

    assert Block.objects.filter(blocker_id=alice.pk, blocked_id=bob.pk).count() == 1
    for user in (alice, bob):
        presence.touch(user.pk, f"test-channel-{user.pk}")
        presence.set_available(user.pk, True)
    with pytest.raises(ServiceError) as caught:
        send_invite(bob, to=alice.pk, mode="video", seconds=300)
    assert caught.value.code == "not_available"


def test_my_data_export_lists_whom_i_blocked_and_never_who_blocked_me(alice, bob):
    block_user(alice, bob.pk)

    mine, theirs = user_document(alice), user_document(bob)

    assert [str(row["blocked_id"]) for row in mine["blocks_made"]] == [str(bob.pk)]
    assert theirs["blocks_made"] == []
    assert str(alice.pk) not in json.dumps(theirs, cls=DjangoJSONEncoder)


def test_two_parallel_blocks_for_the_last_place_store_exactly_one(alice, monkeypatch):
    monkeypatch.setattr(Block, "MAX_PER_USER", 1)
    others = [UserFactory() for _ in range(2)]

    results = run_in_parallel(2, lambda index: block_user(alice, others[index].pk))

    assert Block.objects.filter(blocker=alice).count() == 1
    refused = [r for r in results if isinstance(r, Exception)]
    assert [r.code for r in refused] == ["too_many_blocks"], results


def test_parallel_retries_of_one_block_store_one_row_and_one_audit_line(alice, bob):
    results = run_in_parallel(4, lambda index: block_user(alice, bob.pk))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.created for r in results) == [False, False, False, True]
    assert Block.objects.filter(blocker=alice, blocked=bob).count() == 1
    assert AuditLog.objects.filter(event_type="user.blocked", actor=alice).count() == 1
