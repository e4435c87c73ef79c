"""User edits in the admin (the hole: a moderator set another user's password — the old
API token kept working — and edited email, email_verified, access_status and is_active, none of
it audited, and deactivated themselves by mistake).

Moderators: no password view, no credential, email or access edits, no edits of their own
account; what they may edit goes through accounts.services.admin_edits, audited. Superusers:
credential edits and lost access are audited and end the user's sessions (sockets close)."""

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.hashers import check_password
from django.test import Client
from django.urls import reverse

from accounts.models import AuthSession, User
from accounts.services import admin_edits
from accounts.services.sessions import start_session
from moderation.models import AuditLog
from tests.api_support import PASSWORD, api, make_member
from tests.factories import UserFactory
from tests.test_admin_pages import user_change_data

NEW_PASSWORD = "an-entirely-new-passphrase-9"


def url(name, *args):
    return reverse(f"admin:{name}", args=args)


@pytest.fixture
def mod_client(moderator):
    client = Client()
    client.force_login(moderator)
    return client


@pytest.fixture
def boss(db):
    return User.objects.create_superuser(email="boss@usc.edu", password=PASSWORD, name="Boss")


@pytest.fixture
def boss_client(boss):
    client = Client()
    client.force_login(boss)
    return client


@pytest.fixture
def member(db):
    return make_member(UserFactory(name="Plain", access_status=User.AccessStatus.PAID), "plain@usc.edu")


def token_works(token) -> bool:
    return api(token).get("/api/me").status_code == 200


# --- moderators ------------------------------------------------------------------------------


def test_a_moderator_cannot_set_anyones_password(mod_client, member):
    token = start_session(member, ip="127.0.0.1")
    form = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}

    assert mod_client.get(url("auth_user_password_change", member.pk)).status_code == 403
    assert mod_client.post(url("auth_user_password_change", member.pk), form).status_code == 403

    member.refresh_from_db()
    assert member.check_password(PASSWORD) and not member.check_password(NEW_PASSWORD)
    assert token_works(token)
    assert b"password/" not in mod_client.get(url("accounts_user_change", member.pk)).content


def test_a_moderators_change_form_shows_no_password_hash(mod_client, member):
    page = mod_client.get(url("accounts_user_change", member.pk)).content.decode()
    assert "argon2" not in page


def test_a_moderator_cannot_change_email_verification_or_access(mod_client, member):
    token = start_session(member, ip="127.0.0.1")
    data = user_change_data(
        member,
        name="Renamed",
        email="attacker@example.com",
        email_verified="",
        access_status=User.AccessStatus.UNPAID,
        is_active="",
    )

    response = mod_client.post(url("accounts_user_change", member.pk), data)

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.name == "Renamed"  # a field moderators may edit
    assert (member.email, member.email_verified) == ("plain@usc.edu", True)
    assert (member.access_status, member.is_active) == (User.AccessStatus.PAID, True)
    audit = AuditLog.objects.get(event_type="admin.user_changed")
    assert (audit.target_id, audit.details["fields"]) == (member.pk, ["name"])
    assert audit.details["sessions_revoked"] == 0
    assert token_works(token)


def test_a_moderator_cannot_edit_their_own_account(mod_client, moderator):
    data = user_change_data(moderator, name="Me", is_active="")

    assert mod_client.post(url("accounts_user_change", moderator.pk), data).status_code == 403
    assert mod_client.get(url("auth_user_password_change", moderator.pk)).status_code == 403

    moderator.refresh_from_db()
    assert (moderator.name, moderator.is_active) == ("Mod", True)
    assert mod_client.get(url("accounts_user_change", moderator.pk)).status_code == 200  # may look


def test_the_service_refuses_a_moderator_what_the_form_hides(moderator, member):
    for changes in ({"email": "x@example.com"}, {"is_active": False}, {"access_status": "unpaid"}):
        with pytest.raises(admin_edits.AdminOnlyField):
            admin_edits.change_user(member.pk, changes, actor=moderator)
    with pytest.raises(admin_edits.OwnAccount):
        admin_edits.change_user(moderator.pk, {"name": "Me"}, actor=moderator)
    with pytest.raises(admin_edits.AdminOnlyField):
        admin_edits.set_password(member.pk, password_hash="x", actor=moderator)
    assert not AuditLog.objects.filter(event_type__startswith="admin.").exists()


# --- superusers ------------------------------------------------------------------------------


def test_a_superuser_setting_a_password_is_audited_and_ends_the_old_sessions(boss_client, boss, member):
    token = start_session(member, ip="127.0.0.1")
    form = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}

    response = boss_client.post(url("auth_user_password_change", member.pk), form)

    assert response.status_code == 302
    member.refresh_from_db()
    assert check_password(NEW_PASSWORD, member.password)
    assert not token_works(token)
    assert not AuthSession.objects.filter(user=member, is_active=True).exists()
    audit = AuditLog.objects.get(event_type="admin.password_set")
    assert (audit.actor_id, audit.target_id, audit.details["sessions_revoked"]) == (boss.pk, member.pk, 1)


def test_a_superuser_changing_an_email_is_audited_and_ends_the_sessions(boss_client, boss, member):
    token = start_session(member, ip="127.0.0.1")

    response = boss_client.post(url("accounts_user_change", member.pk), user_change_data(member, email="new@usc.edu"))

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.email == "new@usc.edu"
    assert not token_works(token)
    audit = AuditLog.objects.get(event_type="admin.user_changed")
    assert (audit.actor_id, audit.details["credentials"], audit.details["sessions_revoked"]) == (boss.pk, ["email"], 1)


def test_a_superuser_renaming_someone_keeps_their_sessions(boss_client, member):
    token = start_session(member, ip="127.0.0.1")
    response = boss_client.post(url("accounts_user_change", member.pk), user_change_data(member, name="Else"))
    assert response.status_code == 302
    assert token_works(token)
    audit = AuditLog.objects.get(event_type="admin.user_changed")
    assert "name" in audit.details["fields"]
    assert (audit.details["credentials"], audit.details["sessions_revoked"]) == ([], 0)


@pytest.mark.django_db(transaction=True)
async def test_deactivating_a_user_closes_their_socket(ws, member):
    boss = await database_sync_to_async(User.objects.create_superuser)(email="b@usc.edu", password=PASSWORD, name="B")
    socket = await ws.connect(member)

    await database_sync_to_async(admin_edits.change_user)(member.pk, {"is_active": False}, actor=boss)

    code, reason, _ = await socket.expect_close()
    assert (code, reason) == (4001, "session_invalidated")
