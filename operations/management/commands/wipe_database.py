"""manage.py wipe_database: empty every app table."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from operations.management.cli import operator
from operations.wipe import wipe_database, wiped_tables

PRODUCTION_FLAG = "--i-understand-this-deletes-production-data"


class Command(BaseCommand):
    help = "Empty every Rendezvous table (TRUNCATE … RESTART IDENTITY CASCADE, one transaction)."

    def add_arguments(self, parser):
        parser.add_argument("--yes", action="store_true", help="Really do it (required).")
        parser.add_argument("--keep-staff", action="store_true", help="Keep staff accounts (moderators).")
        parser.add_argument(
            PRODUCTION_FLAG,
            dest="production_ok",
            action="store_true",
            help="Required as well when DEBUG is off.",
        )

    def handle(self, *args, yes, keep_staff, production_ok, **options):
        tables = wiped_tables()
        plan = f"This deletes every row of {len(tables)} tables: {', '.join(tables)}"
        if keep_staff:
            plan += " (staff accounts are kept)"
        if not yes:
            raise CommandError(f"{plan}.\nRefusing without --yes.")
        if not settings.DEBUG and not production_ok:
            raise CommandError(f"DEBUG is off: this looks like production. Refusing without {PRODUCTION_FLAG}.")
        self.stdout.write(plan + ".")
        result = wipe_database(keep_staff=keep_staff, actor_description=operator())
        width = max(map(len, result.counts))
        self.stdout.write(f"{'table'.ljust(width)}  rows")
        for table, count in result.counts.items():
            self.stdout.write(f"{table.ljust(width)}  {count}")
        if keep_staff:
            self.stdout.write(f"kept {result.kept_staff} staff account(s)")
        self.stdout.write(self.style.SUCCESS(f"Wiped. Audit line #{result.audit_id} (database.wiped) written after."))
