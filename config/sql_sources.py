"""SQL functions and views as source files, installed after every `migrate` (repeatable
migrations, as Flyway and Liquibase do them).

An app keeps the PL/pgSQL functions (and the views) that write or expose its tables in
`<app>/sql/<name>.sql`: one file per object, holding its one current definition
(`CREATE OR REPLACE FUNCTION rdv_x(...)` or `CREATE OR REPLACE VIEW x`), with the comment that
explains it. After `migrate`, the post_migrate handler (`install_app_sql`, connected in the
AppConfig.ready of each app with such files) installs, all apps' together, the files whose text
changed since they were last installed, or whose object in the database is no longer what the
file installed (a migration replaced it).
The table `sql_sources` keeps, per object, the file's SHA-256 and the md5 of the definition
PostgreSQL stored; a file whose checksum and stored definition both match is skipped, so a
`migrate` with nothing new costs two reads.

Old migrations that created these functions stay as history (a fresh database replays them,
then the files replace what they wrote); no new migration carries a function body
(tests/test_sql_sources.py checks both, and that the database holds exactly the files).

Infrastructure: imports no app; it finds the files through the app registry."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from django.apps import AppConfig, apps
from django.db import connections, transaction

SQL_DIR = "sql"
TABLE = "sql_sources"
_OBJECT = re.compile(r"^CREATE OR REPLACE (FUNCTION|VIEW)\s+(\w+)", re.MULTILINE)
# Serialises installs (two `migrate`s at once, a test flush beside a deploy).
_LOCK_KEY = 7_250_425

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
  name text PRIMARY KEY,
  kind text NOT NULL,
  app text NOT NULL,
  path text NOT NULL,
  checksum text NOT NULL,
  definition_md5 text NOT NULL,
  installed_at timestamptz NOT NULL DEFAULT now()
)
"""

# The definition PostgreSQL keeps of each installed object, hashed: a function's whole
# definition (arguments, result, language, body), a view's query.
_LIVE = """
SELECT p.proname, md5(pg_get_functiondef(p.oid)) FROM pg_proc p
 WHERE p.pronamespace = 'public'::regnamespace AND p.proname = ANY(%s)
UNION ALL
SELECT c.relname, md5(pg_get_viewdef(c.oid)) FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'v' AND c.relname = ANY(%s)
"""

# Other functions of the same name than the one a file just defined (its body is the file's).
_OTHER_OVERLOADS = """
SELECT p.oid::regprocedure::text FROM pg_proc p
 WHERE p.pronamespace = 'public'::regnamespace AND p.proname = %s AND p.prosrc <> %s
"""
_BODY = re.compile(r"\bAS \$\$(.*)\$\$", re.DOTALL)


@dataclass(frozen=True)
class SqlSource:
    app: str
    path: Path
    kind: str  # "function" or "view"
    name: str
    text: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    @property
    def body(self) -> str:
        """A function's body as PostgreSQL keeps it (pg_proc.prosrc): the text between its $$."""
        found = _BODY.search(self.text)
        return found.group(1) if found else ""

    @property
    def relative_path(self) -> str:
        return f"{self.app}/{SQL_DIR}/{self.path.name}"


def read_source(app: str, path: Path) -> SqlSource:
    text = path.read_text()
    found = _OBJECT.findall(text)
    if len(found) != 1:
        raise ValueError(f"{path}: one CREATE OR REPLACE FUNCTION/VIEW per file, found {len(found)}")
    kind, name = found[0]
    if path.stem != name.removeprefix("rdv_"):
        raise ValueError(f"{path}: the file is named for what it defines ({name} -> {name.removeprefix('rdv_')}.sql)")
    return SqlSource(app=app, path=path, kind=kind.lower(), name=name, text=text)


def app_sources(app_config: AppConfig) -> list[SqlSource]:
    """The app's SQL files, by name (views after functions: a view may call a function)."""
    folder = Path(app_config.path) / SQL_DIR
    if not folder.is_dir():
        return []
    sources = [read_source(app_config.label, path) for path in sorted(folder.glob("*.sql"))]
    return sorted(sources, key=lambda s: (s.kind == "view", s.name))


def all_sources() -> list[SqlSource]:
    return [source for app_config in apps.get_app_configs() for source in app_sources(app_config)]


def _live_definitions(cursor, names: list[str]) -> dict[str, str]:
    cursor.execute(_LIVE, [names, names])
    return dict(cursor.fetchall())


def install(sources: list[SqlSource], *, using: str = "default", force: bool = False) -> list[str]:
    """Install the sources that are new, changed, or changed behind our back; return their
    names. One transaction, under an advisory lock. Function bodies are checked again once all
    are in (a function may call one defined in a later file)."""
    if not sources:
        return []
    sources = sorted(sources, key=lambda s: s.kind == "view")  # a view may call any app's function
    connection = connections[using]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        cursor.execute(_SCHEMA)
        names = [s.name for s in sources]
        cursor.execute(f"SELECT name, checksum, definition_md5 FROM {TABLE} WHERE name = ANY(%s)", [names])  # noqa: S608
        recorded = {name: (checksum, md5) for name, checksum, md5 in cursor.fetchall()}
        live = _live_definitions(cursor, names)
        due = [
            s for s in sources if force or recorded.get(s.name) != (s.checksum, live.get(s.name)) or s.name not in live
        ]
        if not due:
            return []
        cursor.execute("SET LOCAL check_function_bodies = off")
        for source in due:
            cursor.execute(source.text)
            if source.kind == "function":  # one definition per name: a changed signature replaces the old one
                cursor.execute(_OTHER_OVERLOADS, [source.name, source.body])
                for (signature,) in cursor.fetchall():
                    cursor.execute(f"DROP FUNCTION {signature}")
        cursor.execute("SET LOCAL check_function_bodies = on")
        for source in due:
            if source.kind == "function":
                cursor.execute(source.text)  # now validated against everything above
        live = _live_definitions(cursor, [s.name for s in due])
        for source in due:
            cursor.execute(
                f"""
                INSERT INTO {TABLE} (name, kind, app, path, checksum, definition_md5, installed_at)
                VALUES (%s, %s, %s, %s, %s, %s, now())
                ON CONFLICT (name) DO UPDATE
                SET kind = EXCLUDED.kind, app = EXCLUDED.app, path = EXCLUDED.path, checksum = EXCLUDED.checksum,
                    definition_md5 = EXCLUDED.definition_md5, installed_at = EXCLUDED.installed_at
                """,  # noqa: S608 - TABLE is a constant
                [source.name, source.kind, source.app, source.relative_path, source.checksum, live[source.name]],
            )
    return [s.name for s in due]


def install_app_sql(sender: AppConfig, *, using: str = "default", verbosity: int = 1, **kwargs) -> None:
    """post_migrate handler of an app with a sql/ folder (connect it with sender=the app).
    Installs what is due of every app's files, not only the sender's: an app's LANGUAGE sql
    function may read another app's documented view (chat's rdv_pair_barriers reads
    moderation's reported_pairs), and such a body is checked against what exists, so they go
    in together. The apps whose signal comes next find nothing due (two reads each)."""
    installed = install(all_sources(), using=using)
    if installed and verbosity >= 1:
        print(f"  SQL sources installed: {', '.join(installed)}")
