"""Beat sweeps: run-out cooldowns, old sessions, expired locations and guest accounts go;
everything still valid stays; two workers never act on the same row."""

import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import AuthSession, User, UserLocation
from accounts.signals import account_deleting
from chat.models import ActiveRoom, ChatHistory, Cooldown
from moderation.models import AuditLog
from operations import retention
from operations import tasks as retention_tasks
from tests import factories as f
from tests.concurrency import run_in_parallel
from tests.factories import UserFactory


def ago(**kw):
    return timezone.now() - timedelta(**kw)


def test_the_beat_schedule_names_only_tasks_that_exist():
    from config.celery import app

    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry["task"]
    names = {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "chat.tasks.sweep_rooms",
        "chat.tasks.sweep_invites",
        "chat.tasks.sweep_cooldowns",
        "chat.tasks.apply_retention",
        "accounts.tasks.sweep_sessions",
        "accounts.tasks.sweep_locations",
        "accounts.tasks.sweep_expired_guests",
    } <= names


@pytest.mark.django_db
def test_sweep_cooldowns_deletes_only_run_out_cooldowns():
    gone = f.CooldownFactory(created_at=ago(days=2), expires_at=ago(days=1))
    kept = f.CooldownFactory()
    assert retention_tasks.sweep_cooldowns() == 1
    assert list(Cooldown.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not Cooldown.objects.filter(pk=gone.pk).exists()


@pytest.mark.django_db
def test_sweep_sessions_deletes_sessions_expired_longer_than_the_retention(settings):
    settings.RETENTION_SESSIONS_DAYS = 7
    old = f.AuthSessionFactory(created_at=ago(days=40), expires_at=ago(days=8), is_active=False)
    recently_expired = f.AuthSessionFactory(created_at=ago(days=10), expires_at=ago(days=6), is_active=False)
    live = f.AuthSessionFactory()
    assert retention_tasks.sweep_sessions() == 1
    assert set(AuthSession.objects.values_list("pk", flat=True)) == {recently_expired.pk, live.pk}
    assert not AuthSession.objects.filter(pk=old.pk).exists()


@pytest.mark.django_db
def test_sweep_locations_deletes_expired_locations():
    f.UserLocationFactory(expires_at=ago(minutes=1))
    fresh = f.UserLocationFactory()
    assert retention_tasks.sweep_locations() == 1
    assert list(UserLocation.objects.values_list("user_id", flat=True)) == [fresh.user_id]


@pytest.mark.django_db
def test_sweep_expired_guests_deletes_them_with_their_files_and_ends_their_call(
    tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    expired = f.UserFactory(account_expires_at=ago(minutes=1))
    selfie = tmp_path / "selfies" / "x.jpg"
    selfie.parent.mkdir()
    selfie.write_bytes(b"jpeg")
    User.objects.filter(pk=expired.pk).update(selfie="selfies/x.jpg")
    partner = f.UserFactory()
    room = f.ActiveRoomFactory(user_1=partner, user_2=expired, started_at=ago(seconds=90))
    valid_guest, permanent = f.UserFactory(), f.UserFactory(permanent=True)
    with django_capture_on_commit_callbacks(execute=True):  # files go after commit
        deleted = retention_tasks.sweep_expired_guests.apply().get()
    assert deleted == 1
    assert not User.objects.filter(pk=expired.pk).exists()
    assert User.objects.filter(pk__in=[valid_guest.pk, permanent.pk, partner.pk]).count() == 3
    assert not selfie.exists()
    assert AuditLog.objects.filter(event_type="account.deleted", details__user_id=str(expired.pk)).exists()
    # The partner's call ended properly before the row went (the deletion hook).
    assert ChatHistory.objects.filter(user=partner, partner_name=expired.name).exists()
    assert not ActiveRoom.objects.filter(pk=room.pk).exists()  # the room cascades with the guest


@pytest.mark.django_db
def test_a_guest_upgraded_to_permanent_is_not_swept():
    user = f.UserFactory(permanent=True)
    assert retention.sweep_expired_guests() == 0
    assert User.objects.filter(pk=user.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_two_guest_sweeps_in_parallel_delete_each_expired_guest_once():
    guests = [f.UserFactory(account_expires_at=ago(minutes=1)) for _ in range(6)]
    results = run_in_parallel(2, lambda i: retention.sweep_expired_guests())
    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == 6
    assert not User.objects.filter(pk__in=[g.pk for g in guests]).exists()
    assert AuditLog.objects.filter(event_type="account.deleted").count() == 6


@pytest.mark.django_db(transaction=True)
def test_two_cooldown_sweeps_in_parallel_delete_each_row_once():
    for _ in range(30):
        f.CooldownFactory(created_at=ago(days=2), expires_at=ago(days=1))
    results = run_in_parallel(2, lambda i: retention.sweep_cooldowns(limit=5))
    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == 30
    assert Cooldown.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_guest_made_permanent_while_the_sweep_deletes_them_is_kept(connect_receiver):
    """sweep_expired_guests read the guest as expired; the upgrade to permanent commits before
    delete_account locks the row (here: from another connection, during the account_deleting
    receivers). The re-check under the lock keeps the account, and nothing is audited."""
    guest = UserFactory(account_expires_at=timezone.now() - timedelta(minutes=1))

    def upgrade_elsewhere(sender, user, **kwargs):
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

    connect_receiver(account_deleting, upgrade_elsewhere)
    assert retention.sweep_expired_guests() == 0
    guest.refresh_from_db()
    assert guest.account_type == User.AccountType.PERMANENT
    assert not AuditLog.objects.filter(event_type="account.deleted").exists()
