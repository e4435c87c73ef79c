"""manage.py export_user <id or email>: everything stored about one user (a data request)."""

import uuid
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from operations.management.cli import operator
from operations.user_data import export_user


def find_user(value: str) -> User:
    try:
        query = {"pk": uuid.UUID(value)}
    except ValueError:
        query = {"email__iexact": value}
    user = User.objects.filter(**query).first()
    if user is None:
        raise CommandError(f"no user {value!r}")
    return user


class Command(BaseCommand):
    help = "Print (or write with --output) one JSON document with everything about a user; writes an audit line."

    def add_arguments(self, parser):
        parser.add_argument("user", help="User id (UUID) or email address.")
        parser.add_argument("--output", "-o", type=Path, help="Write to this file instead of stdout.")

    def handle(self, *args, user: str, output: Path | None, **options):
        document = export_user(find_user(user), actor_description=operator())
        if output:
            output.write_text(document + "\n")
            self.stderr.write(f"wrote {len(document)} bytes to {output}")
        else:
            self.stdout.write(document)
