"""manage.py make_moderator <email>: make an account a moderator (staff in the moderators group)."""

from django.core.management.base import BaseCommand, CommandError

from moderation.services import make_moderator


class Command(BaseCommand):
    help = "Make the account with this email a moderator (staff, moderators group with its exact permissions)."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--remove", action="store_true", help="Take moderation away (not staff, out of the group).")

    def handle(self, *args, email, remove, **options):
        try:
            user = make_moderator(email, remove=remove)
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{user.email}: {'no longer a moderator' if remove else 'moderator'}")
