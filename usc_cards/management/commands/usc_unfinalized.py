"""manage.py usc_unfinalized: list USC sign-ups whose registration was never finalized (users
with a card HMAC but no usc_card_registrations row), and with --finalize write them (what the
beat sweep does every SWEEP_USC_SECONDS). Safe twice and beside the sweep: finalize locks."""

from datetime import timedelta

from django.core.management.base import BaseCommand

from usc_cards.selectors import list_unfinalized_scans
from usc_cards.services import finalize_each


class Command(BaseCommand):
    help = "List (and with --finalize, finalize) USC card sign-ups that have no registration."

    def add_arguments(self, parser):
        parser.add_argument("--older-than-minutes", type=int, default=0, help="Only sign-ups pending this long.")
        parser.add_argument("--finalize", action="store_true", help="Write their registrations.")

    def handle(self, *args, older_than_minutes, finalize, **options):
        users = list(list_unfinalized_scans(older_than=timedelta(minutes=older_than_minutes)))
        for user in users:
            self.stdout.write(f"pending user={user.pk} since={(user.usc_verified_at or user.created_at).isoformat()}")
        summary = f"usc_unfinalized: {len(users)} pending"
        if finalize:
            result = finalize_each(users, via="command")
            summary += f", {result['finalized']} finalized, {result['failed']} refused"
        self.stdout.write(summary)
