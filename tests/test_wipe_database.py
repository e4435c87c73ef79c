"""manage.py wipe_database."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from chat.models import TextChatMessage
from moderation.models import AuditLog
from operations import wipe
from operations.wipe import count_rows, wiped_tables
from tests import factories as f
from tests.populate import populate_every_table

# Committed data, as in real use: the wipe is its own (durable) transaction, and PostgreSQL
# will not TRUNCATE tables with deferred FK checks pending from the same transaction.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def debug_on(settings):
    settings.DEBUG = True


def run_wipe(*args) -> str:
    out = StringIO()
    call_command("wipe_database", *args, stdout=out)
    return out.getvalue()


def test_fixture_fills_every_table():
    populate_every_table()
    empty = [table for table, n in count_rows(wiped_tables()).items() if n == 0]
    assert empty == []


def test_wipe_leaves_zero_rows_in_every_table_and_prints_each_count(debug_on):
    populate_every_table()
    output = run_wipe("--yes")
    counts = count_rows(wiped_tables())
    assert {t: n for t, n in counts.items() if t != "audit_log"} == {t: 0 for t in wiped_tables() if t != "audit_log"}
    assert counts["audit_log"] == 1  # only the wipe's own line
    for table in wiped_tables():
        assert f"\n{table} " in output and output.split(f"\n{table} ")[1].split("\n")[0].strip() == "0"


def test_wipe_restarts_identity_sequences(debug_on):
    populate_every_table()
    f.AuditLogFactory.create_batch(3)
    run_wipe("--yes")
    assert AuditLog.objects.get().pk == 1
    room = f.ActiveRoomFactory()
    assert f.TextChatMessageFactory(room=room).pk == 1


def test_wipe_writes_an_audit_line_that_survives(debug_on):
    populate_every_table()
    run_wipe("--yes")
    entry = AuditLog.objects.get()
    assert entry.event_type == "database.wiped"
    assert entry.details["keep_staff"] is False
    assert entry.details["tables"] == len(wiped_tables())


def test_wipe_refuses_without_yes(debug_on):
    populate_every_table()
    with pytest.raises(CommandError, match="Refusing without --yes"):
        run_wipe()
    assert User.objects.count() == 4
    assert TextChatMessage.objects.count() == 1


def test_wipe_refuses_when_debug_is_off_without_the_production_flag(settings):
    settings.DEBUG = False
    populate_every_table()
    with pytest.raises(CommandError, match="i-understand-this-deletes-production-data"):
        run_wipe("--yes")
    assert User.objects.count() == 4


def test_wipe_runs_when_debug_is_off_with_the_production_flag(settings):
    settings.DEBUG = False
    populate_every_table()
    run_wipe("--yes", "--i-understand-this-deletes-production-data")
    assert User.objects.count() == 0


def test_wipe_keep_staff_keeps_staff_accounts_and_their_groups(debug_on):
    cast = populate_every_table()
    output = run_wipe("--yes", "--keep-staff")
    kept = User.objects.get()
    assert kept.pk == cast["moderator"].pk
    assert list(kept.groups.values_list("name", flat=True)) == ["moderators"]
    assert kept.user_permissions.filter(codename="view_report").exists()
    counts = count_rows(wiped_tables())
    assert counts["users"] == 1
    assert all(
        n == 0 for t, n in counts.items() if t not in {"users", "users_groups", "users_user_permissions", "audit_log"}
    )
    assert "kept 1 staff account(s)" in output
    assert AuditLog.objects.get().details["kept_staff"] == 1


def test_wipe_is_all_or_nothing(debug_on, monkeypatch):
    populate_every_table()

    def failing_audit(*args, **kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr(wipe, "record_audit", failing_audit)
    with pytest.raises(RuntimeError):
        run_wipe("--yes")
    assert User.objects.count() == 4
    assert TextChatMessage.objects.count() == 1
