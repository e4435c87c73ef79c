"""manage.py import_data <dir>: restore a backup into an empty database (moderation.backup)."""

import getpass
import socket
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from moderation.backup import BackupError, import_data, import_from_file, is_single_file


class Command(BaseCommand):
    help = "Restore an export_data backup into an empty database (after migrate or wipe_database)."

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path, help="A backup directory, or a .tar/.tar.gz/.tgz file.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bars.")

    def handle(self, *args, directory: Path, no_progress: bool, **options):
        progress = not no_progress and sys.stderr.isatty()
        try:
            restore = import_from_file if is_single_file(directory) else import_data
            result = restore(
                directory, progress=progress, actor_description=f"{getpass.getuser()}@{socket.gethostname()}"
            )
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        width = max(map(len, result.counts))
        for table, count in result.counts.items():
            self.stdout.write(f"{table.ljust(width)}  {count:>9}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {sum(result.counts.values())} rows; checksums and counts match the manifest. "
                f"Audit line #{result.audit_id} (database.imported); {result.kept_audit_lines} earlier line(s) kept."
            )
        )
