"""Emptying the database (manage.py wipe_database)."""

from dataclasses import dataclass

from django.db import connection, transaction

from accounts.models import User
from audit.services import record_audit
from operations.datatables import DERIVED_TABLES, FRAMEWORK_PERSONAL_TABLES, STAFF_TABLES, TABLES


@dataclass(frozen=True)
class WipeResult:
    counts: dict[str, int]  # rows left in each table right after the wipe (before its audit line)
    kept_staff: int
    audit_id: int


def wiped_tables() -> list[str]:
    return [*TABLES, *DERIVED_TABLES, *FRAMEWORK_PERSONAL_TABLES]


def count_rows(tables: list[str]) -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 - names from our own list
            counts[table] = cursor.fetchone()[0]
    return counts


@transaction.atomic(durable=True)
def wipe_database(*, keep_staff: bool = False, actor_description: str = "manage.py") -> WipeResult:
    """TRUNCATE … RESTART IDENTITY CASCADE every app table in one transaction, then write the
    audit line (so it survives the wipe). With keep_staff, staff accounts (and their group
    memberships) stay, their counters reset since their sessions and calls are gone."""
    tables = wiped_tables()
    truncate = [t for t in tables if not (keep_staff and t in STAFF_TABLES)]
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE {} RESTART IDENTITY CASCADE".format(", ".join(f'"{t}"' for t in truncate)))
    kept = 0
    if keep_staff:
        with connection.cursor() as cursor:
            # Every other table that references users is already empty.
            cursor.execute("DELETE FROM users_groups g USING users u WHERE g.user_id = u.id AND NOT u.is_staff")
            cursor.execute(
                "DELETE FROM users_user_permissions p USING users u WHERE p.user_id = u.id AND NOT u.is_staff"
            )
            cursor.execute("DELETE FROM users WHERE NOT is_staff")
        staff = User.objects.filter(is_staff=True)
        staff.update(timer_total_seconds=0, session_count=0, successful_sessions=0, streak_days=0)
        kept = staff.count()
    counts = count_rows(tables)
    entry = record_audit(
        "database.wiped",
        details={"tables": len(tables), "keep_staff": keep_staff, "kept_staff": kept, "by": actor_description},
    )
    return WipeResult(counts=counts, kept_staff=kept, audit_id=entry.pk)
