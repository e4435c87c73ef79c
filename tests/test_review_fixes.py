"""Rules found missing in the review of issues 5–8 (each test failed before its fix)."""

import json
import re

import pytest
from django.core.management import CommandError, call_command

from moderation.backup import exported_tables

pytestmark = pytest.mark.django_db


def test_import_of_a_manifest_that_is_not_json_is_a_command_error_not_a_traceback(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(CommandError, match=re.escape("manifest.json")):
        call_command("import_data", str(tmp_path), "--no-progress")


def test_import_of_a_manifest_whose_table_entries_lack_a_file_is_a_command_error(tmp_path):
    manifest = {"format": 1, "tables": {table: {"rows": 0} for table in exported_tables()}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CommandError):
        call_command("import_data", str(tmp_path), "--no-progress")


def test_import_of_a_file_that_is_not_a_tar_archive_is_a_command_error(tmp_path):
    bogus = tmp_path / "backup.tar.gz"
    bogus.write_bytes(b"this is not a tar file")
    with pytest.raises(CommandError, match=re.escape("backup.tar.gz")):
        call_command("import_data", str(bogus), "--no-progress")


def test_import_of_a_missing_tar_file_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match=re.escape("missing.tar")):
        call_command("import_data", str(tmp_path / "missing.tar"), "--no-progress")


def test_export_into_a_path_that_is_a_file_is_a_command_error(tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("x")
    with pytest.raises(CommandError, match="taken"):
        call_command("export_data", str(taken), "--no-progress")


@pytest.mark.django_db(transaction=True)
def test_an_admin_restore_whose_audit_line_fails_restores_nothing():
    """restore_selected: the restored rows and the archive.restored line commit together. An
    actor whose account is gone by commit time (the audit row's foreign key fails) rolls the
    restore back too."""
    from django.db import IntegrityError

    from chat.models import ArchivedTextChatMessage, TextChatMessage
    from moderation import retention
    from tests import factories as f

    archived = f.ArchivedTextChatMessageFactory()
    gone = f.UserFactory.build()  # never saved: its id is in no users row
    with pytest.raises(IntegrityError):
        retention.restore_selected(ArchivedTextChatMessage, [archived.pk], actor=gone)
    archived.refresh_from_db()
    assert archived.restored_at is None
    assert not TextChatMessage.objects.filter(pk=archived.pk).exists()


@pytest.mark.django_db
def test_an_admin_restore_counts_each_selected_row_once():
    from chat.models import ArchivedChatHistory, ChatHistory
    from moderation import retention
    from tests import factories as f

    rows = [f.ArchivedChatHistoryFactory() for _ in range(3)]
    ids = [r.pk for r in rows]
    assert retention.restore_selected(ArchivedChatHistory, [*ids, ids[0]]) == 3
    assert sorted(ChatHistory.objects.values_list("pk", flat=True)) == ids
    assert retention.restore_selected(ArchivedChatHistory, ids) == 0  # already restored


def test_a_report_about_someone_who_deletes_their_account_meanwhile_is_a_404_not_a_500(
    alice, bob, monkeypatch, settings, tmp_path
):
    """submit_report copies the evidence before its transaction (slow I/O); the reported
    person may delete their account in that window. The locked re-read then finds no row:
    404, and no report."""
    from accounts.models import User
    from accounts.services.profile import delete_account
    from moderation import evidence
    from moderation.models import Report
    from tests.api_support import signed_in
    from tests.factories import ActiveRoomFactory

    settings.MEDIA_ROOT = tmp_path / "media"
    ActiveRoomFactory(user_1=alice, user_2=bob, ended=True)
    copy = evidence.preserve

    def copy_while_the_account_goes(name):
        if User.objects.filter(pk=bob.pk).exists():
            delete_account(User.objects.get(pk=bob.pk), ip=None)
        return copy(name)

    monkeypatch.setattr(evidence, "preserve", copy_while_the_account_goes)
    response = signed_in(alice).post(
        "/api/reports", {"reported_user_id": str(bob.pk), "category": "harassment"}, format="json"
    )
    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"
    assert not Report.objects.exists()


def test_a_card_login_for_an_account_deleted_after_the_card_lookup_is_a_404_not_a_500(monkeypatch):
    """_card_login_account finds the holder, then locks the row; an account deleted in
    between is 'card not registered', not a DoesNotExist 500."""
    from accounts.models import User
    from tests.factories import USCCardRegistrationFactory, UserFactory
    from tests.usc_support import CARD, error_code, login_start
    from usc_cards import selectors
    from usc_cards.barcode import card_hash

    holder = UserFactory(permanent=True, email="tommy@usc.edu", usc_id_hash=card_hash(CARD))
    USCCardRegistrationFactory(user=holder, usc_id_hash=holder.usc_id_hash, last4="1828")
    lookup = selectors.get_user_for_card

    def found_then_deleted(usc_id_hash):
        user = lookup(usc_id_hash)
        User.objects.filter(pk=user.pk).delete()  # what a committed account deletion leaves
        return user

    monkeypatch.setattr(selectors, "get_user_for_card", found_then_deleted)
    response = login_start(CARD)
    assert response.status_code == 404, response.content
    assert error_code(response) == "card_not_registered"


@pytest.mark.django_db(transaction=True)
def test_a_guest_made_permanent_while_the_sweep_deletes_them_is_kept(monkeypatch):
    """sweep_expired_guests read the guest as expired; the upgrade to permanent commits before
    delete_account locks the row (here: from another connection, during the deletion
    hooks). The re-check under the lock keeps the account, and nothing is audited."""
    import threading
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from accounts.services import profile
    from moderation import retention
    from moderation.models import AuditLog
    from tests.factories import UserFactory

    guest = UserFactory(account_expires_at=timezone.now() - timedelta(minutes=1))

    def upgrade_elsewhere(user):
        def work():
            try:
                User.objects.filter(pk=user.pk).update(
                    account_type=User.AccountType.PERMANENT,
                    account_expires_at=None,
                    email=f"{user.pk.hex[:8]}@usc.edu",
                    email_verified=True,
                )
            finally:
                connection.close()

        thread = threading.Thread(target=work)
        thread.start()
        thread.join(timeout=30)

    monkeypatch.setattr(profile, "ACCOUNT_DELETION_HOOKS", [*profile.ACCOUNT_DELETION_HOOKS, upgrade_elsewhere])
    assert retention.sweep_expired_guests() == 0
    guest.refresh_from_db()
    assert guest.account_type == User.AccountType.PERMANENT
    assert not AuditLog.objects.filter(event_type="account.deleted").exists()
