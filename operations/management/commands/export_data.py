"""manage.py export_data <dir>: every table to JSON Lines with a manifest (operations.backup)."""

from pathlib import Path

from django.core.management.base import BaseCommand

from operations.backup import export_data, export_to_file
from operations.management.cli import run_backup_step


class Command(BaseCommand):
    help = "Back up every Rendezvous table to <dir>/<table>.jsonl plus manifest.json (counts, SHA-256)."

    def add_arguments(self, parser):
        parser.add_argument(
            "directory", type=Path, help="A new (or empty) directory, or a new file ending .tar, .tar.gz or .tgz."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bars.")

    def handle(self, *args, directory: Path, no_progress: bool, **options):
        manifest = run_backup_step(
            directory, no_progress=no_progress, for_directory=export_data, for_file=export_to_file
        )
        tables = manifest["tables"]
        width = max(map(len, tables))
        for table, entry in tables.items():
            self.stdout.write(f"{table.ljust(width)}  {entry['rows']:>9}  {entry['sha256']}")
        total = sum(e["rows"] for e in tables.values())
        self.stdout.write(self.style.SUCCESS(f"Exported {total} rows of {len(tables)} tables to {directory}."))
