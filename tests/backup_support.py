"""export → wipe → import → export, and the comparison both backup tests make."""

import json
from pathlib import Path

from django.core.management import call_command

from operations.backup import exported_tables


def export(path: Path) -> dict:
    call_command("export_data", str(path), "--no-progress")
    return json.loads((path / "manifest.json").read_text())


def max_id(path: Path) -> int:
    return max((json.loads(line)["id"] for line in path.read_bytes().splitlines()), default=0)


def assert_round_trip_is_identical(workdir: Path) -> dict:
    """Export, wipe, import, export again: every table's SHA-256 is the same, except that
    audit_log gains the wipe's and the import's lines after the restored ones (byte for byte)."""
    first = export(workdir / "one")
    call_command("wipe_database", "--yes", "--i-understand-this-deletes-production-data")
    call_command("import_data", str(workdir / "one"), "--no-progress")
    second = export(workdir / "two")
    for table in exported_tables():
        if table != "audit_log":
            assert second["tables"][table] == first["tables"][table], table
    before = (workdir / "one" / "audit_log.jsonl").read_bytes()
    after = (workdir / "two" / "audit_log.jsonl").read_bytes()
    assert after.startswith(before)
    added = [json.loads(line)["event_type"] for line in after[len(before) :].splitlines()]
    assert added == ["database.wiped", "database.imported"]
    return first
