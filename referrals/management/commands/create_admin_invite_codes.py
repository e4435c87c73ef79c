"""manage.py create_admin_invite_codes: a batch of admin invite codes (for posters)."""

from django.core.management.base import BaseCommand, CommandError

from referrals.services import create_admin_invite_codes


class Command(BaseCommand):
    help = "Create admin invite codes (unlimited by default) and print them."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=1)
        parser.add_argument("--max-uses", type=int, default=None, help="Uses per code (default: unlimited).")
        parser.add_argument("--label", default="manage.py", help="Shown as the creator name.")

    def handle(self, *args, count, max_uses, label, **options):
        try:
            codes = create_admin_invite_codes(count=count, max_uses=max_uses, actor=None, label=label)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        for code in codes:
            self.stdout.write(code.code)
