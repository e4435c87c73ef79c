"""manage.py import_data <dir>: restore a backup into an empty database (operations.backup)."""

from pathlib import Path

from django.core.management.base import BaseCommand

from operations.backup import import_data, import_from_file
from operations.management.cli import run_backup_step


class Command(BaseCommand):
    help = "Restore an export_data backup into an empty database (after migrate or wipe_database)."

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path, help="A backup directory, or a .tar/.tar.gz/.tgz file.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bars.")

    def handle(self, *args, directory: Path, no_progress: bool, **options):
        result = run_backup_step(
            directory, no_progress=no_progress, for_directory=import_data, for_file=import_from_file
        )
        width = max(map(len, result.counts))
        for table, count in result.counts.items():
            self.stdout.write(f"{table.ljust(width)}  {count:>9}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {sum(result.counts.values())} rows; checksums and counts match the manifest. "
                f"Audit line #{result.audit_id} (database.imported); {result.kept_audit_lines} earlier line(s) kept."
            )
        )
