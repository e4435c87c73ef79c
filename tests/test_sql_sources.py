"""SQL functions and views live as source files (<app>/sql/*.sql), installed after migrate when
changed (config/sql_sources.py): the database holds exactly the files, an unchanged file is not
installed again, a changed one (or one replaced behind its back) is, and no migration after the
ones that first wrote these functions carries a function body."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction

from config.sql_sources import TABLE, all_sources, install

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)
# The migrations that wrote function bodies before the functions became files: history, kept.
HISTORY = {
    "chat/migrations/0002_active_room_members_trigger.py",
    "chat/migrations/0006_hot_path_functions.py",
    "chat/migrations/0007_hot_path_invites.py",
    "chat/migrations/0008_blocks.py",
    "chat/migrations/0009_matches.py",
}
SHAPE = """
SELECT p.proname, pg_get_function_identity_arguments(p.oid), pg_get_function_result(p.oid),
       l.lanname, p.provolatile, p.prosrc
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = %s::regnamespace AND p.proname = ANY(%s)
"""


def _functions():
    return [s for s in all_sources() if s.kind == "function"]


def _shapes(cursor, schema: str, names: list[str]) -> dict:
    cursor.execute(SHAPE, [schema, names])
    return {row[0]: row[1:] for row in cursor.fetchall()}


def test_the_functions_in_the_database_are_exactly_the_sql_files():
    """Each file, created afresh in a scratch schema, has the arguments, result, language,
    volatility and body of the function of that name in the database; and every rdv_* function
    in the database has its file (none left over from an old migration)."""
    names = [s.name for s in _functions()]
    with transaction.atomic(), connection.cursor() as cursor:
        live = _shapes(cursor, "public", names)
        cursor.execute("CREATE SCHEMA sql_sources_check")
        cursor.execute("SET LOCAL search_path = sql_sources_check, public")
        cursor.execute("SET LOCAL check_function_bodies = off")
        for source in _functions():
            cursor.execute(source.text)
        fresh = _shapes(cursor, "sql_sources_check", names)
        cursor.execute(
            "SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace AND proname LIKE 'rdv\\_%'"
        )
        in_database = sorted(name for (name,) in cursor.fetchall())
        transaction.set_rollback(True)
    assert sorted(fresh) == sorted(names)
    for name in names:
        assert live.get(name) == fresh[name], f"{name} in the database is not its file"
    assert in_database == sorted(n for n in names if n.startswith("rdv_"))


def test_the_views_in_the_database_are_the_sql_files():
    views = [s for s in all_sources() if s.kind == "view"]
    with connection.cursor() as cursor:
        for source in views:
            cursor.execute("SELECT md5(pg_get_viewdef(%s::regclass))", [source.name])
            (live,) = cursor.fetchone()
            cursor.execute(f"SELECT checksum, definition_md5 FROM {TABLE} WHERE name = %s", [source.name])  # noqa: S608
            assert cursor.fetchone() == (source.checksum, live)


def test_an_unchanged_file_is_not_installed_again():
    assert install(all_sources()) == []


def test_a_changed_file_is_installed_again():
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET checksum = 'old' WHERE name = 'rdv_room_due'")  # noqa: S608
    assert install(all_sources()) == ["rdv_room_due"]
    assert install(all_sources()) == []


def test_a_function_replaced_behind_its_back_is_installed_again():
    """A migration (or a hand) that replaces a function leaves the database unlike its file:
    the next install puts the file back, and drops an overload the file does not define."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE OR REPLACE FUNCTION rdv_isoformat(t timestamptz) RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$"
        )
        cursor.execute("CREATE FUNCTION rdv_isoformat(t text) RETURNS text LANGUAGE sql AS $$ SELECT t $$")
        assert sorted(install(all_sources())) == ["rdv_isoformat"]
        cursor.execute("SELECT rdv_isoformat('2026-01-02 03:04:05+00'::timestamptz)")
        assert cursor.fetchone() == ("2026-01-02T03:04:05+00:00",)
        cursor.execute("SELECT count(*) FROM pg_proc WHERE proname = 'rdv_isoformat'")
        assert cursor.fetchone() == (1,)


def test_each_sql_file_defines_one_object_named_like_the_file():
    for source in all_sources():
        assert source.path.stem == source.name.removeprefix("rdv_")
        assert source.path.parent.parent.name == source.app


def test_no_new_migration_carries_a_function_body():
    """Functions and views are changed in their .sql file; a migration only changes tables."""
    body = re.compile(r"CREATE\s+(OR\s+REPLACE\s+)?(FUNCTION|VIEW)", re.IGNORECASE)
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted(ROOT.glob("*/migrations/*.py"))
        if str(path.relative_to(ROOT)) not in HISTORY and body.search(path.read_text())
    ]
    assert offenders == []
