"""Full backup and restore (manage.py export_data / import_data; one user's data is
operations/user_data.py).

Format: a directory with one JSON Lines file per table (one `row_to_json` object per row,
ordered by primary key, so the same data always gives the same bytes) and manifest.json with
each file's row count and SHA-256. Export reads every table in one REPEATABLE READ snapshot
through server-side cursors (memory stays flat however big the table); import verifies the
checksums first, loads everything in one transaction in dependency order, resets the
sequences and checks the counts again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.db import connection, transaction
from tqdm import tqdm

from audit.services import record_audit
from moderation.models import AuditLog
from operations.datatables import TABLES

logger = logging.getLogger("rendezvous.backup")

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
FETCH_ROWS = 2000  # rows per round trip of the server-side cursor
INSERT_ROWS = 1000  # rows per INSERT … SELECT FROM json_populate_recordset
# Django's groups (and their permissions): users_groups points at them. Exported first and
# loaded with ON CONFLICT DO NOTHING (a wipe keeps them; a fresh database has none).
FRAMEWORK_TABLES = ("auth_group", "auth_group_permissions")
# An import refuses a database with rows in any exported table except these: the audit
# line(s) a wipe leaves (kept, re-numbered after the restored ones) and the default
# site_settings row a migration creates (replaced by the backup's).
TOLERATED_ON_IMPORT = ("audit_log", "site_settings", *FRAMEWORK_TABLES)


class BackupError(Exception):
    """The backup or the target database is not what a restore needs; nothing was changed."""


def exported_tables() -> list[str]:
    return [*FRAMEWORK_TABLES, *TABLES]


def _primary_key(cursor, table: str) -> list[str]:
    cursor.execute(
        """
        SELECT a.attname FROM pg_index i
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
        WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)
        """,
        [f'"{table}"'],
    )
    return [row[0] for row in cursor.fetchall()]


def _count(cursor, table: str) -> int:
    cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 - names from our own list
    return cursor.fetchone()[0]


def _bar(progress: bool, total: int, desc: str):
    return tqdm(total=total, desc=desc.ljust(28), unit=" rows", disable=not progress, file=sys.stderr, leave=True)


@dataclass(frozen=True)
class TableDump:
    table: str
    file: str
    rows: int
    sha256: str
    bytes: int


def _dump_table(cursor, table: str, path: Path, *, progress: bool) -> TableDump:
    order = ", ".join(f't."{c}"' for c in _primary_key(cursor, table))
    total = _count(cursor, table)
    digest, rows, size = hashlib.sha256(), 0, 0
    # A psycopg named (server-side) cursor of its own, not Django's chunked_cursor(): that one
    # becomes a client-side cursor (the whole table in memory) under DISABLE_SERVER_SIDE_CURSORS,
    # which a transaction-pooling PgBouncer needs (DB_PGBOUNCER). This cursor lives inside the
    # export's one transaction (no WITH HOLD), so it is safe behind PgBouncer too.
    stream_cursor = connection.connection.cursor(name=f"export_{table}")
    with path.open("wb") as out, _bar(progress, total, table) as bar, stream_cursor as stream:
        stream.execute(f'SELECT row_to_json(t)::text FROM "{table}" t ORDER BY {order}')  # noqa: S608
        while chunk := stream.fetchmany(FETCH_ROWS):
            data = b"".join(line.encode() + b"\n" for (line,) in chunk)
            out.write(data)
            digest.update(data)
            rows += len(chunk)
            size += len(data)
            bar.update(len(chunk))
    return TableDump(table, path.name, rows, digest.hexdigest(), size)


def _applied_migrations(cursor) -> dict[str, str]:
    cursor.execute("SELECT app, max(name) FROM django_migrations GROUP BY app ORDER BY app")
    return dict(cursor.fetchall())


def export_data(
    directory: Path, *, progress: bool = False, actor_description: str = "manage.py", recorded_as: str | None = None
) -> dict:
    """Write every table to `directory` (created; must be empty) and return the manifest.
    One read-only REPEATABLE READ transaction: the files are one consistent moment."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file is in the way, no permission
        raise BackupError(f"cannot create the directory {directory}: {exc}") from exc
    if any(directory.iterdir()):
        raise BackupError(f"{directory} is not empty: export into a new directory")
    outermost = not connection.in_atomic_block  # (tests run inside a transaction already)
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        if outermost:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT now()")
        snapshot_at = cursor.fetchone()[0]
        migrations = _applied_migrations(cursor)
        dumps = [_dump_table(cursor, t, directory / f"{t}.jsonl", progress=progress) for t in exported_tables()]
    manifest = {
        "format": FORMAT_VERSION,
        "snapshot_at": snapshot_at.isoformat(),
        "migrations": migrations,
        "tables": {d.table: {"file": d.file, "rows": d.rows, "sha256": d.sha256, "bytes": d.bytes} for d in dumps},
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    # After the snapshot, so a backup never contains the line recording it.
    with transaction.atomic(durable=True):
        record_audit(
            "database.exported",
            details={
                "directory": recorded_as or str(directory.resolve()),
                "rows": sum(d.rows for d in dumps),
                "tables": len(dumps),
                "by": actor_description,
            },
        )
    return manifest


ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz")


def is_single_file(path: Path) -> bool:
    return str(path).endswith(ARCHIVE_SUFFIXES)


def export_to_file(path: Path, **kwargs) -> dict:
    """The same backup as one tar file (gzip-compressed for .tar.gz/.tgz): the directory is
    written next to it first, then packed, then removed."""
    path = Path(path)
    if path.exists():
        raise BackupError(f"{path} exists: export into a new file")
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".export-") as scratch:
        manifest = export_data(Path(scratch) / "backup", recorded_as=str(path.resolve()), **kwargs)
        mode = "w" if str(path).endswith(".tar") else "w:gz"
        with tarfile.open(path, mode) as tar:
            for entry in sorted((Path(scratch) / "backup").iterdir()):
                tar.add(entry, arcname=entry.name)
    return manifest


def import_from_file(path: Path, **kwargs) -> ImportResult:
    """Unpack a tar backup into a scratch directory (regular files only), then import_data."""
    with tempfile.TemporaryDirectory(prefix="rdv-import-") as scratch:
        try:
            with tarfile.open(path) as tar:
                tar.extractall(scratch, filter="data")
        except (OSError, tarfile.TarError) as exc:  # missing, unreadable, not a tar, unsafe member
            raise BackupError(f"cannot unpack {path}: {exc}") from exc
        return import_data(Path(scratch), **kwargs)


def read_manifest(directory: Path) -> dict:
    path = Path(directory) / MANIFEST
    if not path.exists():
        raise BackupError(f"no {MANIFEST} in {directory}")
    try:
        manifest = json.loads(path.read_text())
    except (ValueError, OSError) as exc:  # not JSON (or not UTF-8), unreadable
        raise BackupError(f"{path} is not a readable manifest: {exc}") from exc
    version = manifest.get("format") if isinstance(manifest, dict) else None
    if version != FORMAT_VERSION:
        raise BackupError(f"unknown backup format {version!r}")
    tables = manifest.get("tables")
    if not isinstance(tables, dict) or list(tables) != exported_tables():
        names = set(tables) if isinstance(tables, dict) else set()
        missing, unknown = set(exported_tables()) - names, names - set(exported_tables())
        raise BackupError(
            f"the backup's tables differ from this code's: missing {missing or '-'}, unknown {unknown or '-'}"
        )
    for table, entry in tables.items():
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("file"), str)
            and Path(entry["file"]).name == entry["file"]
            and isinstance(entry.get("rows"), int)
            and isinstance(entry.get("sha256"), str)
        ):
            raise BackupError(f"{MANIFEST}: the entry of {table} needs a file name, rows and sha256")
    return manifest


def verify_files(directory: Path, manifest: dict, *, progress: bool = False) -> None:
    """Every file's SHA-256 and line count as the manifest says, before anything is loaded."""
    for table, entry in manifest["tables"].items():
        path = Path(directory) / entry["file"]
        if not path.exists():
            raise BackupError(f"{entry['file']} is missing")
        digest, rows = hashlib.sha256(), 0
        with path.open("rb") as f, _bar(progress, entry["rows"], f"verify {table}") as bar:
            for line in f:
                digest.update(line)
                rows += 1
                bar.update(1)
        if digest.hexdigest() != entry["sha256"]:
            raise BackupError(f"{entry['file']}: checksum mismatch (the file changed since the export)")
        if rows != entry["rows"]:
            raise BackupError(f"{entry['file']}: {rows} rows, the manifest says {entry['rows']}")


def _load_table(cursor, table: str, path: Path, *, tolerate_existing: bool, progress: bool, total: int) -> None:
    conflict = " ON CONFLICT DO NOTHING" if tolerate_existing else ""
    sql = f'INSERT INTO "{table}" SELECT * FROM json_populate_recordset(NULL::"{table}", %s::json){conflict}'  # noqa: S608
    with path.open("rb") as f, _bar(progress, total, f"load {table}") as bar:
        batch: list[bytes] = []
        for line in f:
            batch.append(line.rstrip(b"\n"))
            if len(batch) == INSERT_ROWS:
                cursor.execute(sql, [(b"[" + b",".join(batch) + b"]").decode()])
                bar.update(len(batch))
                batch = []
        if batch:
            cursor.execute(sql, [(b"[" + b",".join(batch) + b"]").decode()])
            bar.update(len(batch))


def _reset_sequences(cursor, tables: list[str]) -> None:
    """Point every identity/serial sequence past the restored ids."""
    for table in tables:
        cursor.execute(
            """
            SELECT a.attname FROM pg_attribute a
            WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
              AND pg_get_serial_sequence(%s, a.attname) IS NOT NULL
            """,
            [f'"{table}"', f'"{table}"'],
        )
        for (column,) in cursor.fetchall():
            top = f'max("{column}")'
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, %s), COALESCE({top}, 1), {top} IS NOT NULL) "  # noqa: S608
                f'FROM "{table}"',
                [f'"{table}"', column],
            )


@dataclass(frozen=True)
class ImportResult:
    counts: dict[str, int]
    kept_audit_lines: int
    audit_id: int


def import_data(directory: Path, *, progress: bool = False, actor_description: str = "manage.py") -> ImportResult:
    """Restore a backup into an empty database (as left by migrate or wipe_database): verify
    the files, then load every table in one transaction; the counts are checked before it
    commits. Audit lines already present (the wipe's) are kept, re-numbered after the
    restored ones; a default site_settings row is replaced by the backup's."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    verify_files(directory, manifest, progress=progress)
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        for table in exported_tables():
            cursor.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
        busy = {t: n for t in exported_tables() if t not in TOLERATED_ON_IMPORT and (n := _count(cursor, t))}
        if busy:
            raise BackupError(
                "the database is not empty ("
                + ", ".join(f"{t}: {n}" for t, n in busy.items())
                + "): restore into a new database or after wipe_database"
            )
        kept = list(
            AuditLog.objects.order_by("pk").values("event_type", "actor_id", "target_id", "ip", "details", "created_at")
        )
        cursor.execute('DELETE FROM "audit_log"')
        cursor.execute('DELETE FROM "site_settings"')
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        # The driver's own cursor: with DEBUG on, Django's would keep every batch's SQL text in
        # connection.queries (9000 of them), and memory would grow with the backup.
        raw = cursor.cursor
        for table in exported_tables():
            entry = manifest["tables"][table]
            _load_table(
                raw,
                table,
                directory / entry["file"],
                tolerate_existing=table in FRAMEWORK_TABLES,
                progress=progress,
                total=entry["rows"],
            )
        _reset_sequences(cursor, exported_tables())
        # Counted over every exported table, as export_data counts them, so both commands give
        # the same total for the same data; the framework tables (loaded ON CONFLICT DO NOTHING
        # beside the group a migration made) are shown, not held to the manifest.
        counts = {t: _count(cursor, t) for t in exported_tables()}
        wrong = {
            t: (counts[t], manifest["tables"][t]["rows"]) for t in TABLES if counts[t] != manifest["tables"][t]["rows"]
        }
        if wrong:
            raise BackupError(f"row counts after loading differ from the manifest: {wrong}")
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # foreign keys checked now, inside the transaction
        for row in kept:
            AuditLog.objects.create(**row)
        entry = record_audit(
            "database.imported",
            details={
                "directory": str(directory.resolve()),
                "snapshot_at": manifest["snapshot_at"],
                "rows": sum(counts.values()),
                "by": actor_description,
            },
        )
    return ImportResult(counts=counts, kept_audit_lines=len(kept), audit_id=entry.pk)
