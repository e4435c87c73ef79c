"""What is tidied away, and when: the sweeps beat runs and the retention policies.

Every function here works in batches: each batch claims its rows with
`SELECT … FOR UPDATE SKIP LOCKED LIMIT n` and deletes or moves them in one transaction, so
any number of workers can run the same sweep at once without doing a row twice, a crash
loses at most an uncommitted batch (which the next run does again), and the loop stops on a
short batch. Nothing here decides correctness: readers check timestamps themselves.

Archival moves old rows to archive tables with the same ids and columns (chat.models
ArchivedTextChatMessage / ArchivedChatHistory); `restore_archive` brings them back.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from accounts.services.profile import delete_account
from audit.services import record_audit
from chat.models import ArchivedChatHistory, ArchivedTextChatMessage, CallPhoto, ChatHistory, TextChatMessage
from chat.services import delete_photo_files

logger = logging.getLogger("rendezvous.retention")


def _batch_size(limit: int | None) -> int:
    return limit or settings.RETENTION_BATCH_SIZE


def _cutoff(days: int, now: datetime | None) -> datetime | None:
    """now − `days` days; None when the policy is off (days ≤ 0 keeps everything)."""
    return (now or timezone.now()) - timedelta(days=days) if days > 0 else None


def _columns(model) -> list[str]:
    return [f.column for f in model._meta.concrete_fields]


def _in_batches(sql: str, params: list, *, batch: int, what: str) -> int:
    """Run one claim-and-act statement (its last parameter is the LIMIT) until a short batch."""
    total, started = 0, time.monotonic()
    while True:
        with transaction.atomic(durable=True), connection.cursor() as cursor:
            cursor.execute(sql, [*params, batch])
            # A statement ending in SELECT reports its own count (rows claimed), others rowcount.
            done = cursor.fetchone()[0] if cursor.description else cursor.rowcount
        total += done
        if done < batch:
            break
    if total:
        logger.info("%s: %d row(s) in %.2fs", what, total, time.monotonic() - started)
    return total


def _delete_where(table: str, pk: str, where: str, params: list, *, batch: int, what: str) -> int:
    sql = (
        f'WITH batch AS (SELECT "{pk}" FROM "{table}" WHERE {where} '  # noqa: S608 - our own names
        f'ORDER BY "{pk}" LIMIT %s FOR UPDATE SKIP LOCKED) '
        f'DELETE FROM "{table}" t USING batch WHERE t."{pk}" = batch."{pk}"'
    )
    return _in_batches(sql, params, batch=batch, what=what)


# --- sweeps of expired rows ----------------------------------------------------------------


def sweep_cooldowns(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Delete cooldowns that have run out (a pair is on cooldown only while expires_at > now)."""
    now = now or timezone.now()
    return _delete_where(
        "cooldowns", "id", "expires_at <= %s", [now], batch=_batch_size(limit), what="expired cooldowns deleted"
    )


def sweep_locations(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Delete locations past their 24 hours (ignored by readers already)."""
    now = now or timezone.now()
    return _delete_where(
        "user_locations", "user_id", "expires_at <= %s", [now], batch=_batch_size(limit), what="expired locations"
    )


def sweep_sessions(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Delete auth sessions that expired more than RETENTION_SESSIONS_DAYS ago (kept that long
    for support questions; an expired session signs nobody in)."""
    cutoff = _cutoff(settings.RETENTION_SESSIONS_DAYS, now)
    if cutoff is None:
        return 0
    return _delete_where(
        "sessions", "id", "expires_at < %s", [cutoff], batch=_batch_size(limit), what="expired sessions deleted"
    )


def sweep_scan_attempts(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Delete USC scan attempts older than RETENTION_SCAN_ATTEMPTS_DAYS."""
    cutoff = _cutoff(settings.RETENTION_SCAN_ATTEMPTS_DAYS, now)
    if cutoff is None:
        return 0
    return _delete_where(
        "usc_scan_attempts", "id", "scanned_at < %s", [cutoff], batch=_batch_size(limit), what="scan attempts deleted"
    )


def sweep_event_rsvps(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Delete RSVPs whose date is more than RETENTION_EVENT_RSVPS_DAYS in the past."""
    cutoff = _cutoff(settings.RETENTION_EVENT_RSVPS_DAYS, now)
    if cutoff is None:
        return 0
    return _delete_where(
        "event_rsvps", "id", "date < %s", [cutoff.date()], batch=_batch_size(limit), what="old event RSVPs deleted"
    )


def sweep_unverified_waitlist(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Delete waitlist entries never verified RETENTION_WAITLIST_UNVERIFIED_DAYS after they
    were made (an address nobody confirmed)."""
    cutoff = _cutoff(settings.RETENTION_WAITLIST_UNVERIFIED_DAYS, now)
    if cutoff is None:
        return 0
    return _delete_where(
        "waitlist_entries",
        "id",
        "verified_at IS NULL AND created_at < %s",
        [cutoff],
        batch=_batch_size(limit),
        what="unverified waitlist entries deleted",
    )


def sweep_expired_guests(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Delete guest accounts past account_expires_at, with their files, through the one
    account-deletion path (accounts.services.profile.delete_account: ends a live call
    properly, revokes sessions, audit line, files removed after commit). Each account is its
    own transaction. Two workers on the same guest are kept apart by the user row lock that
    delete_account takes (the second finds the row gone); no session-level advisory lock,
    which a transaction-pooling PgBouncer would leave held on a server connection. The row
    is re-checked under its lock (an upgrade to permanent in the meantime wins)."""
    now = now or timezone.now()
    candidates = list(
        User.objects.filter(account_type=User.AccountType.GUEST, account_expires_at__lte=now)
        .order_by("account_expires_at")
        .values_list("pk", flat=True)[: _batch_size(limit)]
    )
    deleted = 0
    for user_id in candidates:
        try:
            user = User.objects.filter(
                pk=user_id, account_type=User.AccountType.GUEST, account_expires_at__lte=now
            ).first()
            if user is None:
                continue
            if delete_account(user, ip=None, only_if_expired_guest_at=now):
                deleted += 1
        except User.DoesNotExist:
            continue  # deleted meanwhile (by its owner, another path or another worker)
        except Exception:  # one account must not stop the sweep
            logger.exception("deleting expired guest %s failed", user_id, extra={"event": "retention.failed"})
    if deleted:
        logger.info("expired guest accounts deleted: %d", deleted)
    return deleted


# --- archival ------------------------------------------------------------------------------


def _move_sql(*, source, archive, where: str, join: str = "", alias: str = "s") -> str:
    """One statement: claim a batch in `source` (SKIP LOCKED), delete it, insert it into the
    archive with archived_at. Ids already in the archive (restored rows) are never moved."""
    src, arc = source._meta.db_table, archive._meta.db_table
    cols = ", ".join(f'"{c}"' for c in _columns(source))
    return (
        f"WITH batch AS (SELECT {alias}.id FROM {src} {alias} {join} WHERE {where} "  # noqa: S608
        f"AND NOT EXISTS (SELECT 1 FROM {arc} a WHERE a.id = {alias}.id) "
        f"ORDER BY {alias}.id LIMIT %s FOR UPDATE OF {alias} SKIP LOCKED), "
        f"moved AS (DELETE FROM {src} m USING batch WHERE m.id = batch.id RETURNING m.*) "
        f"INSERT INTO {arc} ({cols}, archived_at) SELECT {cols}, now() FROM moved"
    )


def delete_call_photos(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Delete the photos sent in text calls that ended more than RETENTION_MESSAGES_DAYS ago,
    row and file (the file after its batch commits). Run before the messages of those calls are
    archived: a photo is not archived, it goes; its archived message keeps only the address,
    which then answers 404 photo_not_found, as does the history's copy."""
    cutoff = _cutoff(settings.RETENTION_MESSAGES_DAYS, now)
    if cutoff is None:
        return 0
    batch, total = _batch_size(limit), 0
    while True:
        with transaction.atomic(durable=True):
            rows = list(
                CallPhoto.objects.filter(room__status="ended", room__ended_at__lt=cutoff)
                .order_by("pk")
                .select_for_update(of=("self",), skip_locked=True)
                .values_list("pk", "file")[:batch]
            )
            CallPhoto.objects.filter(pk__in=[pk for pk, _ in rows]).delete()
            files = [name for _, name in rows]
            transaction.on_commit(lambda files=files: delete_photo_files(files), robust=True)
        total += len(rows)
        if len(rows) < batch:
            break
    if total:
        logger.info("call photos deleted: %d", total)
    return total


def archive_messages(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Move messages of rooms that ended more than RETENTION_MESSAGES_DAYS ago to
    archived_text_chat_messages (chat_history keeps its own snapshot for the users), after
    deleting the photos sent in those calls (delete_call_photos: same age, row and file)."""
    cutoff = _cutoff(settings.RETENTION_MESSAGES_DAYS, now)
    if cutoff is None:
        return 0
    delete_call_photos(now=now, limit=limit)
    sql = _move_sql(
        source=TextChatMessage,
        archive=ArchivedTextChatMessage,
        join="JOIN active_rooms r ON r.id = s.room_id",
        where="r.status = 'ended' AND r.ended_at < %s",
    )
    return _in_batches(sql, [cutoff], batch=_batch_size(limit), what="messages archived")


def archive_chat_history(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Move chat_history rows written more than RETENTION_CHAT_HISTORY_DAYS ago to
    archived_chat_history."""
    cutoff = _cutoff(settings.RETENTION_CHAT_HISTORY_DAYS, now)
    if cutoff is None:
        return 0
    sql = _move_sql(source=ChatHistory, archive=ArchivedChatHistory, where="s.created_at < %s")
    return _in_batches(sql, [cutoff], batch=_batch_size(limit), what="chat history archived")


def apply_retention(*, now: datetime | None = None, limit: int | None = None) -> dict[str, int]:
    """Every retention policy once (beat, hourly). The audit log is never pruned."""
    now = now or timezone.now()
    return {
        "scan_attempts_deleted": sweep_scan_attempts(now=now, limit=limit),
        "sessions_deleted": sweep_sessions(now=now, limit=limit),
        "messages_archived": archive_messages(now=now, limit=limit),
        "chat_history_archived": archive_chat_history(now=now, limit=limit),
        "event_rsvps_deleted": sweep_event_rsvps(now=now, limit=limit),
        "waitlist_unverified_deleted": sweep_unverified_waitlist(now=now, limit=limit),
    }


# --- restore -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestoreFilter:
    user_id: str | None = None
    room_id: str | None = None
    before: datetime | None = None

    def is_empty(self) -> bool:
        return not (self.user_id or self.room_id or self.before)


def _restore_sql(*, live, archive, where: str) -> str:
    """Claim archived rows not yet restored, mark them restored_at, insert them back (same
    id). ON CONFLICT DO NOTHING: a row that is somehow live already stays as it is."""
    cols = ", ".join(f'"{c}"' for c in _columns(live))
    arc, dst = archive._meta.db_table, live._meta.db_table
    return (
        f"WITH batch AS (SELECT a.id FROM {arc} a WHERE a.restored_at IS NULL AND {where} "  # noqa: S608
        "ORDER BY a.id LIMIT %s FOR UPDATE SKIP LOCKED), "
        f"marked AS (UPDATE {arc} a SET restored_at = now() FROM batch WHERE a.id = batch.id RETURNING a.*), "
        f"put AS (INSERT INTO {dst} ({cols}) SELECT {cols} FROM marked ON CONFLICT DO NOTHING RETURNING 1) "
        "SELECT (SELECT count(*) FROM marked), (SELECT count(*) FROM put)"
    )


def _where(conditions: list[tuple[str, object]]) -> tuple[str, list]:
    sql = " AND ".join(c for c, _ in conditions) or "TRUE"
    params = []
    for condition, value in conditions:
        params.extend([value] * condition.count("%s"))
    return sql, params


def restore_archive(which: RestoreFilter, *, limit: int | None = None) -> dict[str, int]:
    """Put archived messages and chat history matching the filter back into the live tables.
    The archive keeps each row (restored_at set) as the record, and the live copy is exempt
    from archiving again. Returns how many rows went back per table."""
    message_conditions, history_conditions = [], []
    if which.user_id:
        message_conditions.append(("(a.sender_id = %s OR a.receiver_id = %s)", which.user_id))
        history_conditions.append(("a.user_id = %s", which.user_id))
    if which.room_id:
        message_conditions.append(("a.room_id = %s", which.room_id))
        history_conditions.append(("a.room_id = %s", which.room_id))
    if which.before:
        message_conditions.append(("a.sent_at < %s", which.before))
        history_conditions.append(("a.started_at < %s", which.before))
    batch = _batch_size(limit)
    where, params = _where(message_conditions)
    messages = _in_batches(
        _restore_sql(live=TextChatMessage, archive=ArchivedTextChatMessage, where=where),
        params,
        batch=batch,
        what="messages restored",
    )
    where, params = _where(history_conditions)
    history = _in_batches(
        _restore_sql(live=ChatHistory, archive=ArchivedChatHistory, where=where),
        params,
        batch=batch,
        what="chat history restored",
    )
    return {"messages_restored": messages, "chat_history_restored": history}


def restore_selected(archive, ids, *, actor=None) -> int:
    """Admin action: put these archived rows (ids of `archive`) back, with the audit line
    (actor) in the same transaction: a restore is never committed without its line."""
    live = {ArchivedTextChatMessage: TextChatMessage, ArchivedChatHistory: ChatHistory}[archive]
    ids = sorted({int(i) for i in ids})
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        # One batch of exactly the chosen ids (LIMIT len(ids)); rows being restored by someone
        # else right now are skipped (SKIP LOCKED) and not counted.
        cursor.execute(_restore_sql(live=live, archive=archive, where="a.id = ANY(%s)"), [ids, len(ids)])
        restored = cursor.fetchone()[0]
        record_audit(
            "archive.restored", actor=actor, details={"table": live._meta.db_table, "ids": ids[:100], "rows": restored}
        )
    return restored


def record_restore(which: RestoreFilter, counts: dict[str, int], *, by: str) -> None:
    """The audit line of a `restore_archive` run."""
    with transaction.atomic(durable=True):
        record_audit(
            "archive.restored",
            details={
                "user_id": which.user_id,
                "room_id": which.room_id,
                "before": which.before.isoformat() if which.before else None,
                **counts,
                "by": by,
            },
        )
