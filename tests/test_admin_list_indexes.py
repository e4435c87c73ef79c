"""The admin's big lists (users, sessions, invite codes; newest first) read one page through an
index instead of sorting the whole table: fast with 100k rows (moderator console, issue 6)."""

import pytest
from django.db import connection

from accounts.models import AuthSession, User
from referrals.models import InviteCode


@pytest.mark.parametrize(
    ("model", "index"),
    [(User, "users_created_at"), (AuthSession, "sessions_created_at"), (InviteCode, "invite_codes_created_at")],
)
def test_newest_first_admin_page_is_an_index_scan(db, model, index):
    page = model.objects.order_by("-created_at")[:100]
    sql, params = page.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # tiny test tables: plan as for big ones
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert f"Index Scan using {index}" in plan, plan
