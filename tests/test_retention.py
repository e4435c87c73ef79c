"""Retention: old scan attempts deleted, messages of long-ended rooms and old chat history
moved to the archive tables (one transaction per batch), restore_archive brings them back."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError
from django.utils import timezone

from chat.models import ArchivedChatHistory, ArchivedTextChatMessage, ChatHistory, TextChatMessage
from operations import retention
from operations import tasks as retention_tasks
from tests import factories as f
from tests.concurrency import run_in_parallel
from usc_cards.models import USCScanAttempt


def ago(**kw):
    return timezone.now() - timedelta(**kw)


def ended_room(days_ago: int):
    started = ago(days=days_ago, minutes=10)
    return f.ActiveRoomFactory(ended=True, started_at=started, ends_at=started + timedelta(minutes=5))


def row_of(obj) -> dict:
    return {fld.attname: getattr(obj, fld.attname) for fld in obj._meta.concrete_fields}


@pytest.mark.django_db
def test_retention_deletes_scan_attempts_older_than_90_days_and_keeps_the_rest(settings):
    settings.RETENTION_SCAN_ATTEMPTS_DAYS = 90
    f.USCScanAttemptFactory(scanned_at=ago(days=91))
    recent = f.USCScanAttemptFactory(scanned_at=ago(days=89))
    counts = retention_tasks.apply_retention()
    assert counts["scan_attempts_deleted"] == 1
    assert list(USCScanAttempt.objects.values_list("pk", flat=True)) == [recent.pk]


@pytest.mark.django_db
def test_messages_of_rooms_ended_over_30_days_ago_move_to_the_archive_unchanged(settings):
    settings.RETENTION_MESSAGES_DAYS = 30
    old_room, recent_room, live_room = ended_room(31), ended_room(29), f.ActiveRoomFactory()
    old = [f.TextChatMessageFactory(room=old_room, sent_at=old_room.started_at) for _ in range(3)]
    before = [row_of(m) for m in old]
    kept = [f.TextChatMessageFactory(room=recent_room), f.TextChatMessageFactory(room=live_room)]
    assert retention.archive_messages(limit=2) == 3  # batches of 2: 2 + 1
    assert set(TextChatMessage.objects.values_list("pk", flat=True)) == {m.pk for m in kept}
    archived = ArchivedTextChatMessage.objects.order_by("pk")
    assert [{k: v for k, v in row_of(a).items() if k not in ("archived_at", "restored_at")} for a in archived] == before


@pytest.mark.django_db
def test_chat_history_older_than_365_days_moves_to_the_archive(settings):
    settings.RETENTION_CHAT_HISTORY_DAYS = 365
    old = f.ChatHistoryFactory(created_at=ago(days=366))
    recent = f.ChatHistoryFactory(created_at=ago(days=364))
    counts = retention.apply_retention()
    assert counts["chat_history_archived"] == 1
    assert list(ChatHistory.objects.values_list("pk", flat=True)) == [recent.pk]
    assert ArchivedChatHistory.objects.get().pk == old.pk


@pytest.mark.django_db
def test_a_zero_retention_turns_a_policy_off(settings):
    settings.RETENTION_MESSAGES_DAYS = 0
    f.TextChatMessageFactory(room=ended_room(400))
    assert retention.archive_messages() == 0
    assert TextChatMessage.objects.count() == 1


@pytest.mark.django_db
def test_restore_archive_by_user_brings_back_their_rows_and_they_are_not_archived_again(settings):
    settings.RETENTION_MESSAGES_DAYS = settings.RETENTION_CHAT_HISTORY_DAYS = 30
    room, other_room = ended_room(40), ended_room(40)
    mine = f.TextChatMessageFactory(room=room)
    f.TextChatMessageFactory(room=other_room)
    history = f.ChatHistoryFactory(room=room, user=room.user_1, partner=room.user_2, created_at=ago(days=40))
    retention.apply_retention()
    assert TextChatMessage.objects.count() == 0 and ChatHistory.objects.count() == 0

    call_command("restore_archive", "--user", str(room.user_1_id))
    assert list(TextChatMessage.objects.values_list("pk", "client_id")) == [(mine.pk, mine.client_id)]
    assert list(ChatHistory.objects.values_list("pk", flat=True)) == [history.pk]
    assert ArchivedTextChatMessage.objects.get(pk=mine.pk).restored_at is not None
    # The next retention run leaves the restored rows live.
    counts = retention.apply_retention()
    assert counts["messages_archived"] == counts["chat_history_archived"] == 0
    assert TextChatMessage.objects.filter(pk=mine.pk).exists()


@pytest.mark.django_db
def test_restore_archive_by_room_and_before(settings):
    settings.RETENTION_MESSAGES_DAYS = 30
    room = ended_room(60)
    early = f.TextChatMessageFactory(room=room, sent_at=ago(days=60))
    f.TextChatMessageFactory(room=room, sent_at=ago(days=50))
    retention.archive_messages()
    call_command("restore_archive", "--room", str(room.pk), "--before", (ago(days=55)).date().isoformat())
    assert list(TextChatMessage.objects.values_list("pk", flat=True)) == [early.pk]


@pytest.mark.django_db
def test_restore_archive_refuses_without_a_filter():
    with pytest.raises(CommandError, match="--user"):
        call_command("restore_archive")


@pytest.mark.django_db(transaction=True)
def test_two_archive_runs_in_parallel_move_each_message_exactly_once(settings):
    settings.RETENTION_MESSAGES_DAYS = 30
    rooms = [ended_room(40) for _ in range(4)]
    ids = {f.TextChatMessageFactory(room=rooms[i % 4]).pk for i in range(60)}
    results = run_in_parallel(2, lambda i: retention.archive_messages(limit=7))
    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == 60
    assert set(ArchivedTextChatMessage.objects.values_list("pk", flat=True)) == ids
    assert TextChatMessage.objects.count() == 0


@pytest.mark.django_db
def test_archive_tables_are_visible_in_the_admin(admin_client):
    f.ChatHistoryFactory(created_at=ago(days=400))
    retention.archive_chat_history()
    for path in ("/admin/chat/archivedchathistory/", "/admin/chat/archivedtextchatmessage/"):
        assert admin_client.get(path).status_code == 200


@pytest.mark.django_db
def test_the_admin_action_restores_the_selected_archived_rows_with_an_audit_line(admin_client, admin_user):
    from moderation.models import AuditLog

    chosen, other = f.ArchivedTextChatMessageFactory(), f.ArchivedTextChatMessageFactory()
    response = admin_client.post(
        "/admin/chat/archivedtextchatmessage/",
        {"action": "restore_selected", "_selected_action": [chosen.pk]},
    )
    assert response.status_code == 302
    assert list(TextChatMessage.objects.values_list("pk", flat=True)) == [chosen.pk]
    chosen.refresh_from_db()
    other.refresh_from_db()
    assert chosen.restored_at is not None and other.restored_at is None
    line = AuditLog.objects.get(event_type="archive.restored")
    assert line.actor == admin_user and line.details["rows"] == 1


@pytest.mark.django_db
def test_restore_archive_writes_an_audit_line():
    from moderation.models import AuditLog

    archived = f.ArchivedChatHistoryFactory()
    call_command("restore_archive", "--user", str(archived.user_id))
    line = AuditLog.objects.get(event_type="archive.restored")
    assert line.details["chat_history_restored"] == 1 and line.details["user_id"] == str(archived.user_id)


@pytest.mark.django_db(transaction=True)
def test_an_admin_restore_whose_audit_line_fails_restores_nothing():
    """restore_selected: the restored rows and the archive.restored line commit together. An
    actor whose account is gone by commit time (the audit row's foreign key fails) rolls the
    restore back too."""
    archived = f.ArchivedTextChatMessageFactory()
    gone = f.UserFactory.build()  # never saved: its id is in no users row
    with pytest.raises(IntegrityError):
        retention.restore_selected(ArchivedTextChatMessage, [archived.pk], actor=gone)
    archived.refresh_from_db()
    assert archived.restored_at is None
    assert not TextChatMessage.objects.filter(pk=archived.pk).exists()


@pytest.mark.django_db
def test_an_admin_restore_counts_each_selected_row_once():
    rows = [f.ArchivedChatHistoryFactory() for _ in range(3)]
    ids = [r.pk for r in rows]
    assert retention.restore_selected(ArchivedChatHistory, [*ids, ids[0]]) == 3
    assert sorted(ChatHistory.objects.values_list("pk", flat=True)) == ids
    assert retention.restore_selected(ArchivedChatHistory, ids) == 0  # already restored


@pytest.mark.django_db
def test_a_screened_message_is_archived_with_its_call_and_its_screening_row_goes_with_it(settings):
    """A message that screening censored or flagged is moved like any other: the archive
    statement deletes it, and its screening_messages row (which points at it) goes with it,
    by the database's own ON DELETE CASCADE."""
    from screening.models import ScreenedMessage

    settings.RETENTION_MESSAGES_DAYS = 30
    room = ended_room(31)
    message = f.TextChatMessageFactory(room=room, sent_at=room.started_at)
    ScreenedMessage.objects.create(message=message, action="flag", rules=["detector:phone"])
    assert retention.archive_messages() == 1
    assert not TextChatMessage.objects.filter(pk=message.pk).exists()
    assert ArchivedTextChatMessage.objects.filter(pk=message.pk).exists()
    assert not ScreenedMessage.objects.filter(pk=message.pk).exists()
