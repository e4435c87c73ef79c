"""The proof of persistence: the real processes (uvicorn, Celery worker, Celery beat)
under a mixed HTTP + WebSocket load are killed with SIGKILL at random moments, seven times (in a random order),
and restarted. Afterwards every write the server acknowledged is in PostgreSQL, every room
is either still running (with time left; a long call resumed after each restart) or ended
with all its bookkeeping, and persistence_check passes. Finally export → wipe → import of what the run left gives the
same checksums.

The load is tests/crash_load.py (a list of steps; each acked write is recorded with a kind,
checked here by VERIFIERS). Runs in about a minute and a half."""

from __future__ import annotations

import asyncio
import math
import random
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from chat.models import (
    ActiveRoom,
    ActiveRoomMember,
    CallInvite,
    ChatHistory,
    Cooldown,
    SessionCompletion,
    TextChatMessage,
)
from chat.selectors import ordered_pair
from moderation.models import Report, SiteSettings
from operations.invariants import run_invariants
from referrals.models import InviteCode, InviteCodeUse
from tests import factories as f
from tests.backup_support import assert_round_trip_is_identical
from tests.crash_load import Load, Resumer, actor
from tests.live_stack import ROOT

ACTORS = 5
KILLS = ("asgi", "worker", "asgi", "beat", ("asgi", "worker", "beat"), "worker", "asgi")
SETTLE_SECONDS = 40  # after the last restart: beat ends what is overdue (timer, grace)


# --- what an acknowledged write must have left in the database --------------------------------


def verify_user(data):
    assert User.objects.filter(pk=data["user_id"]).exists(), f"acked sign-up lost: {data}"


def verify_code_use(data):
    assert InviteCodeUse.objects.filter(code_id=data["code"], user_id=data["user_id"]).exists(), (
        f"code use lost: {data}"
    )


def verify_invite(data):
    assert CallInvite.objects.filter(
        pk=data["invite_id"], from_user_id=data["from_user"], to_user_id=data["to_user"]
    ).exists(), f"acked invite lost: {data}"


def verify_message(data):
    stored = TextChatMessage.objects.filter(
        room_id=data["room_id"], sender_id=data["sender"], client_id=data["client_id"]
    ).first()
    assert stored is not None and stored.pk == data["id"], f"acked message lost: {data}"


def room_bookkeeping_problems(room: ActiveRoom) -> list[str]:
    """What an ended room must have: history for both, completions (if ≥ 1 s), the cooldown."""
    problems = []
    if ChatHistory.objects.filter(room=room).count() != 2:
        problems.append("chat_history")
    spent = math.floor((min(room.ended_at, room.ends_at) - room.started_at).total_seconds())
    completions = list(SessionCompletion.objects.filter(room=room).values_list("duration_seconds", flat=True))
    if spent >= 1 and completions != [spent, spent]:
        problems.append(f"session_completions {completions} for {spent}s")
    low, high = ordered_pair(room.user_1_id, room.user_2_id)
    if not Cooldown.objects.filter(user_low_id=low, user_high_id=high, expires_at__gt=timezone.now()).exists():
        problems.append("cooldown")
    return problems


def verify_room(data):
    room = ActiveRoom.objects.filter(pk=data["room_id"]).first()
    assert room is not None, f"acked room lost: {data}"
    assert sorted([str(room.user_1_id), str(room.user_2_id)]) == data["users"]
    now = timezone.now()
    if room.status == ActiveRoom.Status.ENDED:
        assert room_bookkeeping_problems(room) == [], f"room {room.pk} ended without {room_bookkeeping_problems(room)}"
    else:
        # Still running: time left (or the grace still open) and both members held in it.
        assert room.ends_at > now - timedelta(seconds=5), f"room {room.pk} left behind past ends_at"
        if room.status == ActiveRoom.Status.GRACE_PERIOD:
            assert room.grace_period_expires > now - timedelta(seconds=5), f"room {room.pk} grace left behind"
        assert ActiveRoomMember.objects.filter(room=room).count() == 2


def verify_room_ended(data):
    room = ActiveRoom.objects.get(pk=data["room_id"])
    assert room.status == ActiveRoom.Status.ENDED, f"acked room.end lost: {room.pk} is {room.status}"
    assert room_bookkeeping_problems(room) == []


def verify_report(data):
    report = Report.objects.filter(pk=data["id"]).first()
    assert report is not None, f"acked report lost: {data}"
    assert (str(report.reporter_id), str(report.reported_id), str(report.room_id)) == (
        data["reporter"],
        data["reported"],
        data["room_id"],
    )
    assert report.messages_snapshot, f"report {report.pk} lost its room messages snapshot"


VERIFIERS = {
    "user": verify_user,
    "code_use": verify_code_use,
    "invite": verify_invite,
    "room": verify_room,
    "message": verify_message,
    "room_ended": verify_room_ended,
    "report": verify_report,
}


# --- the run -----------------------------------------------------------------------------------


def restart(stack, names) -> None:
    for name in names:
        stack.start(name)


async def drive(stack, load: Load, rng: random.Random) -> tuple[Resumer, list[str]]:
    """Load + chaos: actors run rounds while processes are killed (SIGKILL) at random moments
    and restarted; the resumer's call must come back after every ASGI restart."""
    stop = asyncio.Event()
    resumer = Resumer(load)
    await resumer.start()
    tasks = [asyncio.create_task(actor(load, stop)) for _ in range(ACTORS)]
    tasks.append(asyncio.create_task(resumer.keep_connected(stop)))
    killed = []
    try:
        await asyncio.sleep(4)
        order = list(KILLS)
        rng.shuffle(order)
        for victim in order:
            names = victim if isinstance(victim, tuple) else (victim,)
            await asyncio.sleep(rng.uniform(2.0, 5.0))
            for name in names:
                stack.kill(name)  # SIGKILL to the process group: no shutdown code runs
            killed.append("+".join(names))
            await asyncio.sleep(rng.uniform(0.0, 1.0))  # down for a moment
            await asyncio.to_thread(restart, stack, names)
        await asyncio.sleep(4)  # the load goes on against the restarted stack
        for task in tasks:
            if task.done() and task.exception():
                raise task.exception()
    finally:
        stop.set()
        await asyncio.wait(tasks, timeout=20)
        for task in tasks:
            task.cancel()
        await resumer.close()
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception():
            raise task.exception()
    return resumer, killed


def settle(deadline_seconds: float) -> None:
    """Wait until beat has ended every room that is due (timer passed, grace expired)."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        now = timezone.now()
        due = (
            ActiveRoom.objects.exclude(status=ActiveRoom.Status.ENDED)
            .filter(Q(ends_at__lte=now) | Q(status=ActiveRoom.Status.GRACE_PERIOD, grace_period_expires__lte=now))
            .exists()
        )
        if not due:
            return
        time.sleep(0.5)


def test_every_acknowledged_write_survives_kill_9_of_server_worker_and_beat(live_stack, tmp_path):
    rng = random.Random()
    seed = rng.randrange(1_000_000)
    print(f"crash test seed {seed}")
    rng.seed(seed)
    SiteSettings.objects.update_or_create(id=1, defaults={"open_signup": True})
    code = InviteCode.objects.create(code="CRASHTEST0000001", type="admin", max_uses=10_000, uses_remaining=10_000)
    stack = live_stack(
        "asgi",
        "worker",
        "beat",
        extra_env={"RATE_SIGNUP": "100000/h", "RATE_CODE_CHECK": "100000/h", "LOG_LEVEL": "WARNING"},
    )
    load = Load(stack, code.code, seed=seed)

    resumer, killed = asyncio.run(drive(stack, load, rng))

    # The stack is up again (all three processes); let beat finish what is overdue.
    assert all(stack.children[name].poll() is None for name in ("asgi", "worker", "beat"))
    settle(SETTLE_SECONDS)

    summary = {kind: load.count(kind) for kind in VERIFIERS}
    print(f"killed {killed}; acked {summary}; rounds {load.rounds_completed} done, {load.rounds_abandoned} cut")
    print(f"cut by {dict(load.failures)}")
    assert len(killed) >= 5 and sum("asgi" in k for k in killed) >= 3 and sum("worker" in k for k in killed) >= 3
    assert load.rounds_completed >= 5, "the load did not get going"
    assert summary["message"] >= 20 and summary["room_ended"] >= 3
    for fact in load.acked:
        VERIFIERS[fact.kind](fact.data)

    # The long call came back after the ASGI restarts (each drops both members; a kill during
    # a reconnect may merge two drops into one) and is still running.
    assert resumer.resumes >= sum("asgi" in k for k in killed) + 1
    assert ActiveRoom.objects.get(pk=resumer.room).status != ActiveRoom.Status.ENDED

    code.refresh_from_db()
    assert code.max_uses - code.uses_remaining == InviteCodeUse.objects.filter(code=code).count()
    report = run_invariants()
    assert report.ok, report.as_dict()
    # And the command itself, as `make run` runs it at start-up, with the stack's environment.
    check = subprocess.run(
        [sys.executable, "manage.py", "persistence_check"],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr

    # The data the chaos left behind survives a backup round trip unchanged.
    stack.stop()
    manifest = assert_round_trip_is_identical(tmp_path / "backup")
    assert manifest["tables"]["text_chat_messages"]["rows"] >= summary["message"]


@pytest.mark.django_db
def test_the_verifiers_fail_when_an_acknowledged_write_is_missing():
    """The proof can fail: an acked fact with no row behind it is reported."""
    missing = {
        "user": {"user_id": str(uuid.uuid4())},
        "code_use": {"user_id": str(uuid.uuid4()), "code": "NOPE"},
        "invite": {"invite_id": str(uuid.uuid4()), "from_user": str(uuid.uuid4()), "to_user": str(uuid.uuid4())},
        "room": {"room_id": str(uuid.uuid4()), "users": []},
        "message": {"room_id": str(uuid.uuid4()), "sender": str(uuid.uuid4()), "client_id": "x", "id": 1},
        "report": {"id": 0, "reporter": str(uuid.uuid4()), "reported": str(uuid.uuid4()), "room_id": ""},
    }
    for kind, data in missing.items():
        with pytest.raises(AssertionError):
            VERIFIERS[kind](data)
    ended = f.ActiveRoomFactory(ended=True)  # ended, but none of the bookkeeping
    with pytest.raises(AssertionError, match="chat_history"):
        VERIFIERS["room_ended"]({"room_id": str(ended.pk)})
    overdue = f.ActiveRoomFactory(
        started_at=timezone.now() - timedelta(minutes=5), ends_at=timezone.now() - timedelta(minutes=1)
    )
    with pytest.raises(AssertionError, match="left behind"):
        VERIFIERS["room"](
            {"room_id": str(overdue.pk), "users": sorted([str(overdue.user_1_id), str(overdue.user_2_id)])}
        )
