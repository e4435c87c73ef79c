"""export_data / import_data / export_user: a backup restores to the same bytes."""

import hashlib
import json
import re

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from moderation.models import AuditLog
from operations.backup import exported_tables
from operations.datatables import TABLES
from operations.wipe import count_rows
from tests import factories as f
from tests.backup_support import assert_round_trip_is_identical, export, max_id
from tests.populate import populate_every_table

pytestmark = pytest.mark.django_db(transaction=True)  # wipe and import run their own transactions


@pytest.fixture
def populated():
    return populate_every_table()  # a row in every table, the archive tables included


def test_export_writes_every_table_with_counts_and_checksums_and_an_audit_line(populated, tmp_path):
    manifest = export(tmp_path / "backup")
    assert list(manifest["tables"]) == exported_tables()
    counts = count_rows(list(TABLES))
    assert all(counts[t] > 0 for t in TABLES), {t: n for t, n in counts.items() if not n}
    for table in TABLES:
        entry = manifest["tables"][table]
        data = (tmp_path / "backup" / entry["file"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["rows"] == counts[table] - (1 if table == "audit_log" else 0) == data.count(b"\n")
    line = AuditLog.objects.filter(event_type="database.exported").get()
    assert line.details["rows"] == sum(e["rows"] for e in manifest["tables"].values())


def test_export_wipe_import_gives_back_identical_checksums(populated, tmp_path):
    manifest = assert_round_trip_is_identical(tmp_path)
    assert manifest["tables"]["users"]["rows"] == User.objects.count() > 0
    # Sequences continue after the restored ids.
    assert f.AuditLogFactory().pk > max_id(tmp_path / "two" / "audit_log.jsonl")
    assert f.TextChatMessageFactory().pk > max_id(tmp_path / "one" / "text_chat_messages.jsonl")


def test_a_single_file_backup_restores_the_same_data(populated, tmp_path):
    first = export(tmp_path / "dir")
    call_command("export_data", str(tmp_path / "backup.tar.gz"), "--no-progress")
    call_command("wipe_database", "--yes", "--i-understand-this-deletes-production-data")
    call_command("import_data", str(tmp_path / "backup.tar.gz"), "--no-progress")
    again = export(tmp_path / "again")
    for table in exported_tables():
        if table != "audit_log":
            assert again["tables"][table]["sha256"] == first["tables"][table]["sha256"], table


def test_export_and_import_report_the_same_number_of_rows_for_the_same_data(populated, tmp_path, capsys):
    call_command("export_data", str(tmp_path / "b"), "--no-progress")
    exported = re.search(r"Exported (\d+) rows", capsys.readouterr().out)
    call_command("wipe_database", "--yes", "--i-understand-this-deletes-production-data")
    capsys.readouterr()
    call_command("import_data", str(tmp_path / "b"), "--no-progress")
    imported = re.search(r"Imported (\d+) rows", capsys.readouterr().out)
    assert exported and imported and exported.group(1) == imported.group(1)


def test_import_refuses_a_database_that_is_not_empty(populated, tmp_path):
    export(tmp_path / "b")
    users = User.objects.count()
    with pytest.raises(CommandError, match="not empty"):
        call_command("import_data", str(tmp_path / "b"), "--no-progress")
    assert User.objects.count() == users


def test_import_refuses_a_file_changed_since_the_export_before_loading_anything(populated, tmp_path):
    export(tmp_path / "b")
    call_command("wipe_database", "--yes", "--i-understand-this-deletes-production-data")
    path = tmp_path / "b" / "users.jsonl"
    path.write_bytes(path.read_bytes().replace(b"Alice", b"Alicf"))
    with pytest.raises(CommandError, match="checksum mismatch"):
        call_command("import_data", str(tmp_path / "b"), "--no-progress")
    assert User.objects.count() == 0


def test_import_into_a_freshly_migrated_database_replaces_the_default_site_settings(populated, tmp_path):
    from moderation.models import SiteSettings

    SiteSettings.objects.update(open_signup=True)
    export(tmp_path / "b")
    call_command("wipe_database", "--yes", "--i-understand-this-deletes-production-data")
    SiteSettings.objects.create(id=1)  # what migrate leaves
    call_command("import_data", str(tmp_path / "b"), "--no-progress")
    assert SiteSettings.objects.get().open_signup is True


def test_export_user_has_their_data_without_secrets_and_writes_an_audit_line(populated, capsys):
    alice = populated["alice"]
    f.TextChatMessageFactory(room=populated["live_room"], sender=alice, receiver=populated["bob"])
    call_command("export_user", alice.email)
    document = json.loads(capsys.readouterr().out)
    assert document["profile"]["id"] == str(alice.pk)
    assert "password" not in document["profile"] and "usc_id_hash" not in document["profile"]
    assert document["sessions"] and all("token_digest" not in s for s in document["sessions"])
    assert document["usc_card_registration"][0]["last4"] == "4321"
    assert "usc_id_hash" not in document["usc_card_registration"][0]
    assert len(document["messages"]) >= 1
    assert len(document["reports_made"]) == 1  # alice reported bob
    bob_document = json.loads(_export_user(populated["bob"], capsys))
    assert bob_document["reports_made"] == [] and bob_document["reports_received"] == 1  # not who reported
    assert AuditLog.objects.filter(event_type="user.exported", target=alice).exists()


def _export_user(user, capsys) -> str:
    call_command("export_user", str(user.pk))
    return capsys.readouterr().out


def test_export_user_refuses_an_unknown_user():
    with pytest.raises(CommandError, match="no user"):
        call_command("export_user", "nobody@usc.edu")


def _manifest_not_json(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json")
    return tmp_path


def _manifest_entries_without_files(tmp_path):
    manifest = {"format": 1, "tables": {table: {"rows": 0} for table in exported_tables()}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    return tmp_path


def _not_a_tar_archive(tmp_path):
    bogus = tmp_path / "backup.tar.gz"
    bogus.write_bytes(b"this is not a tar file")
    return bogus


def _missing_tar_file(tmp_path):
    return tmp_path / "missing.tar"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("make_source", "match"),
    [
        (_manifest_not_json, re.escape("manifest.json")),
        (_manifest_entries_without_files, None),
        (_not_a_tar_archive, re.escape("backup.tar.gz")),
        (_missing_tar_file, re.escape("missing.tar")),
    ],
    ids=["manifest-not-json", "manifest-entries-without-files", "not-a-tar-archive", "missing-tar-file"],
)
def test_import_of_a_broken_backup_is_a_command_error_not_a_traceback(tmp_path, make_source, match):
    source = make_source(tmp_path)
    with pytest.raises(CommandError, match=match):
        call_command("import_data", str(source), "--no-progress")


@pytest.mark.django_db
def test_export_into_a_path_that_is_a_file_is_a_command_error(tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("x")
    with pytest.raises(CommandError, match="taken"):
        call_command("export_data", str(taken), "--no-progress")
