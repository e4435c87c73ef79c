"""manage.py restore_archive: put archived messages and chat history back (operations.retention)."""

import uuid
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from operations.management.cli import operator
from operations.management.commands.export_user import find_user
from operations.retention import RestoreFilter, record_restore, restore_archive


def parse_before(value: str) -> datetime:
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"--before: not a date or datetime: {value!r}")
        moment = datetime(day.year, day.month, day.day)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, UTC)


class Command(BaseCommand):
    help = (
        "Restore archived messages and chat history matching --user/--room/--before (all given must match). "
        "Restored rows stay out of future archiving."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", help="User id or email: their history, and messages they sent or received.")
        parser.add_argument("--room", help="Room id.")
        parser.add_argument("--before", help="Only rows from before this date/datetime (ISO 8601, UTC if naive).")
        parser.add_argument("--all", action="store_true", help="Restore the whole archive (no filter).")

    def handle(self, *args, user, room, before, all, **options):
        if room:
            try:
                uuid.UUID(room)
            except ValueError as exc:
                raise CommandError(f"--room: not a room id: {room!r}") from exc
        which = RestoreFilter(
            user_id=str(find_user(user).pk) if user else None,
            room_id=room,
            before=parse_before(before) if before else None,
        )
        if which.is_empty() and not all:
            raise CommandError("give --user, --room and/or --before (or --all for the whole archive)")
        counts = restore_archive(which)
        record_restore(which, counts, by=operator())
        self.stdout.write(
            self.style.SUCCESS(
                f"restored {counts['messages_restored']} message(s) and "
                f"{counts['chat_history_restored']} chat history row(s)"
            )
        )
