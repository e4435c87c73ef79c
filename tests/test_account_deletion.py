"""DELETE /api/me: the account and its personal data go; other people's records of calls with
the user stay, with the partner link cleared and the name snapshot kept."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts.models import AuthSession, EmailVerification, User, UserLocation
from accounts.services.sessions import start_session
from accounts.signals import account_deleting
from chat.models import ChatHistory, SessionCompletion
from moderation.models import AuditLog
from referrals.models import InviteCode, InviteCodeUse, ReferralMapping, ReferralNotification
from tests import media_samples as samples
from tests.api_support import signed_in_with_token
from tests.factories import (
    ActiveRoomFactory,
    ChatHistoryFactory,
    EmailVerificationFactory,
    InviteCodeFactory,
    InviteCodeUseFactory,
    ReferralMappingFactory,
    ReferralNotificationFactory,
    SessionCompletionFactory,
    UserLocationFactory,
)


@pytest.fixture
def media_root(settings, tmp_path):
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    return root


def upload(client, kind: str, data: bytes):
    response = client.put(
        f"/api/me/{kind}",
        {"file": SimpleUploadedFile("f", data, content_type="application/octet-stream")},
        format="multipart",
    )
    assert response.status_code == 200, response.content


def make_alice_permanent(alice) -> None:
    alice.email, alice.email_verified = "alice.liddell@usc.edu", True
    alice.account_type, alice.account_expires_at = User.AccountType.PERMANENT, None
    alice.save()


def test_delete_me_is_204_and_removes_the_user_and_their_personal_rows(alice, bob):
    client, _ = signed_in_with_token(alice)
    EmailVerificationFactory(user=alice)
    UserLocationFactory(user=alice)
    alices_code = InviteCodeFactory(user_code=True, created_by=alice)
    admin_code = InviteCodeFactory()
    InviteCodeUseFactory(code=admin_code, user=alice)
    ReferralNotificationFactory(for_user=alice, referred_user=bob)
    ReferralMappingFactory(created_by_user=alice, target_user=bob)
    # Bob's own rows of every kind, which must all stay.
    start_session(bob, ip="127.0.0.1")
    EmailVerificationFactory(user=bob)
    UserLocationFactory(user=bob)
    bobs_code = InviteCodeFactory(user_code=True, created_by=bob)
    InviteCodeUseFactory(code=admin_code, user=bob)

    response = client.delete("/api/me")

    assert response.status_code == 204
    assert not response.content
    assert not User.objects.filter(pk=alice.pk).exists()
    assert not AuthSession.objects.filter(user_id=alice.pk).exists()
    assert not EmailVerification.objects.filter(user_id=alice.pk).exists()
    assert not UserLocation.objects.filter(user_id=alice.pk).exists()
    assert not InviteCode.objects.filter(pk=alices_code.pk).exists()
    assert not InviteCodeUse.objects.filter(user_id=alice.pk).exists()
    assert not ReferralNotification.objects.filter(for_user_id=alice.pk).exists()
    assert not ReferralMapping.objects.filter(created_by_user_id=alice.pk).exists()

    assert User.objects.filter(pk=bob.pk).exists()
    assert AuthSession.objects.filter(user=bob, is_active=True).count() == 1
    assert EmailVerification.objects.filter(user=bob).count() == 1
    assert UserLocation.objects.filter(user=bob).exists()
    assert InviteCode.objects.filter(pk=bobs_code.pk).exists()
    assert InviteCode.objects.filter(pk=admin_code.pk).exists()
    assert InviteCodeUse.objects.filter(user=bob, code=admin_code).exists()


def test_partners_history_and_completions_survive_with_partner_null_and_name_kept(alice, bob):
    client, _ = signed_in_with_token(alice)
    room = ActiveRoomFactory(user_1=bob, user_2=alice, ended=True)
    bobs_history = ChatHistoryFactory(room=room, user=bob, partner=alice)
    bobs_completion = SessionCompletionFactory(room=room, user=bob, partner=alice)
    ChatHistoryFactory(room=room, user=alice, partner=bob)
    SessionCompletionFactory(room=room, user=alice, partner=bob)

    response = client.delete("/api/me")

    assert response.status_code == 204
    bobs_history.refresh_from_db()
    bobs_completion.refresh_from_db()
    assert bobs_history.partner_id is None
    assert bobs_history.partner_name == "Alice"
    assert bobs_history.messages == [{"from": "me", "text": "hi"}]
    assert bobs_completion.partner_id is None
    assert bobs_completion.duration_seconds == 120
    # Alice's own records went with her.
    assert list(ChatHistory.objects.values_list("user_id", flat=True)) == [bob.pk]
    assert list(SessionCompletion.objects.values_list("user_id", flat=True)) == [bob.pk]


def test_delete_me_writes_an_audit_row_with_only_the_user_id(alice):
    make_alice_permanent(alice)
    client, token = signed_in_with_token(alice)

    response = client.delete("/api/me", REMOTE_ADDR="198.51.100.7")

    assert response.status_code == 204
    entry = AuditLog.objects.get(event_type="account.deleted")
    assert entry.details["user_id"] == str(alice.pk)
    assert entry.ip == "198.51.100.7"
    assert entry.actor_id is None
    assert entry.target_id is None
    dumped = json.dumps(entry.details)
    assert "Alice" not in dumped
    assert "alice.liddell" not in dumped
    assert token not in dumped


def test_delete_me_deletes_the_uploaded_files_after_commit(alice, media_root, django_capture_on_commit_callbacks):
    client, _ = signed_in_with_token(alice)
    upload(client, "selfie", samples.jpeg())
    upload(client, "video", samples.mp4(6))
    alice.refresh_from_db()
    files = [media_root / alice.selfie.name, media_root / alice.video.name]
    assert all(path.exists() for path in files)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.delete("/api/me")

    assert response.status_code == 204
    assert all(path.exists() for path in files)  # nothing is deleted before the commit
    for callback in callbacks:
        callback()
    assert not any(path.exists() for path in files)


def test_other_users_files_are_kept(alice, bob, media_root, django_capture_on_commit_callbacks):
    alice_client, _ = signed_in_with_token(alice)
    bob_client, _ = signed_in_with_token(bob)
    upload(alice_client, "selfie", samples.jpeg())
    upload(bob_client, "selfie", samples.jpeg())
    bob.refresh_from_db()

    with django_capture_on_commit_callbacks(execute=True):
        assert alice_client.delete("/api/me").status_code == 204

    assert (media_root / bob.selfie.name).exists()
    assert [p.name for p in (media_root / "selfies").iterdir()] == [bob.selfie.name.split("/")[1]]


def test_the_token_no_longer_works_after_deletion(alice):
    client, _ = signed_in_with_token(alice)
    assert client.delete("/api/me").status_code == 204

    response = client.get("/api/me")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


def test_deleting_my_account_leaves_a_strangers_account_alone(alice, stranger):
    stranger_client, _ = signed_in_with_token(stranger)
    alice_client, _ = signed_in_with_token(alice)

    assert stranger_client.delete("/api/me").status_code == 204

    assert User.objects.filter(pk=alice.pk).exists()
    assert alice_client.get("/api/me").json()["id"] == str(alice.pk)


def test_a_user_who_signed_up_with_my_invite_code_keeps_their_access(alice, bob):
    client, _ = signed_in_with_token(alice)
    InviteCodeUseFactory(code=InviteCodeFactory(user_code=True, created_by=alice), user=bob)

    assert client.delete("/api/me").status_code == 204

    bob.refresh_from_db()
    assert bob.access_status == User.AccessStatus.QR_GRACE_PERIOD


def test_failed_deletion_keeps_everything_and_schedules_no_file_deletion(
    alice, media_root, connect_receiver, django_capture_on_commit_callbacks
):
    """An account_deleting receiver (another app's step) fails: the whole deletion rolls back."""
    client, _ = signed_in_with_token(alice)
    upload(client, "selfie", samples.jpeg())
    alice.refresh_from_db()

    def failing_hook(sender, user, **kwargs):
        raise RuntimeError("hook failed")

    connect_receiver(account_deleting, failing_hook)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        client.delete("/api/me")

    assert callbacks == []
    assert User.objects.filter(pk=alice.pk).exists()
    assert AuthSession.objects.filter(user=alice, is_active=True).exists()
    assert not AuditLog.objects.filter(event_type="account.deleted").exists()
    assert (media_root / alice.selfie.name).exists()


def test_delete_me_without_a_session_is_401_and_deletes_nothing(alice):
    response = APIClient().delete("/api/me")

    assert response.status_code == 401
    assert User.objects.filter(pk=alice.pk).exists()
