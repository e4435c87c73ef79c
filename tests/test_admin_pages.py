"""Admin pages: every model has one, pages render, read-only rules hold, lists stay bounded."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.models import AuthSession, EmailVerification, User
from chat.models import (
    ActiveRoom,
    ActiveRoomMember,
    ArchivedChatHistory,
    ArchivedTextChatMessage,
    Block,
    CallInvite,
    CallPhoto,
    ChatHistory,
    Cooldown,
    EventRSVP,
    EventSettings,
    Match,
    MeetAgainAnswer,
    SessionCompletion,
    TextChatMessage,
)
from moderation.models import Appeal, AuditLog, Case, CaseNote, DataExport, Report, SiteSettings, Strike, UserBan
from referrals.models import WaitlistEntry
from screening.models import AccountHold, Detector, MediaScan, ScreenedMessage, WatchedWord
from tests.factories import (
    ActiveRoomFactory,
    ArchivedChatHistoryFactory,
    ArchivedTextChatMessageFactory,
    AuditLogFactory,
    AuthSessionFactory,
    CallInviteFactory,
    CallPhotoFactory,
    ChatHistoryFactory,
    CooldownFactory,
    EmailVerificationFactory,
    EventAccessPassFactory,
    EventRSVPFactory,
    InviteCodeFactory,
    InviteCodeUseFactory,
    IPBanFactory,
    ReferralMappingFactory,
    ReferralNotificationFactory,
    ReportFactory,
    SessionCompletionFactory,
    TextChatMessageFactory,
    USCCardRegistrationFactory,
    USCScanAttemptFactory,
    UserBanFactory,
    UserFactory,
    UserLocationFactory,
)
from usc_cards.models import USCCardRegistration, USCScanAttempt

OUR_APPS = ("accounts", "chat", "moderation", "usc_cards", "referrals", "screening")

# Rows only services (or a trigger, or a migration) write: the add page is refused.
NO_ADD = {
    AuthSession,
    CallPhoto,
    EmailVerification,
    ActiveRoomMember,
    SessionCompletion,
    ChatHistory,
    ArchivedChatHistory,
    ArchivedTextChatMessage,
    Cooldown,
    CallInvite,
    ActiveRoom,
    TextChatMessage,
    Report,
    UserBan,
    AuditLog,
    SiteSettings,
    USCCardRegistration,
    USCScanAttempt,
    EventRSVP,
    WaitlistEntry,
    Match,
    MeetAgainAnswer,
    DataExport,
    Block,
    Case,
    CaseNote,
    Strike,
    Appeal,
    Detector,  # one row per detector, made by the migration
    MediaScan,
    AccountHold,
    ScreenedMessage,
}

REGISTERED = sorted(admin.site._registry, key=lambda m: m._meta.label)

# Measured with 1 and with 30 rows (equal): session, request user, COUNT, page rows, the
# site_settings "can add?" check of the sidebar, plus the groups filter (users) or the
# date_hierarchy queries (reports). A per-row query would push these far past the limit.
USERS_CHANGELIST_QUERIES = 6
MESSAGES_CHANGELIST_QUERIES = 5
REPORTS_CHANGELIST_QUERIES = 7


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def every_model_twice(db):
    """Two rows of every model (site settings: its one row)."""
    for _ in range(2):
        UserFactory(permanent=True)
        AuthSessionFactory()
        EmailVerificationFactory()
        UserLocationFactory()
        CooldownFactory()
        CallInviteFactory()
        ActiveRoomFactory()  # live: the trigger adds two active_room_members rows
        TextChatMessageFactory()
        CallPhotoFactory()
        SessionCompletionFactory()
        ChatHistoryFactory()
        ArchivedTextChatMessageFactory()
        ArchivedChatHistoryFactory()
        ReportFactory(messages_snapshot=[{"from": "a", "text": "hi"}])
        UserBanFactory()
        IPBanFactory()
        AuditLogFactory(details={"reason": "test"})
        ended = ActiveRoomFactory(ended=True)
        MeetAgainAnswer.objects.create(room=ended, user=ended.user_1, answer=True)
        low, high = sorted([ended.user_1, ended.user_2], key=lambda u: str(u.pk))
        Match.objects.create(user_low=low, user_high=high, room=ended)
        DataExport.objects.create(user=ended.user_1)
        Block.objects.create(blocker=ended.user_1, blocked=ended.user_2)
        InviteCodeUseFactory(code=InviteCodeFactory(user_code=True))
        ReferralMappingFactory()
        ReferralNotificationFactory()
        USCCardRegistrationFactory()
        USCScanAttemptFactory(validation_errors=["checksum"])
        case = Case.objects.create(reported=UserFactory(), reported_name="R")
        ReportFactory(reported=case.reported, case=case)
        CaseNote.objects.create(case=case, text="note")
        strike = Strike.objects.create(user=case.reported, action="warning", reason="r", automatic=True, case=case)
        Appeal.objects.create(strike=strike, text="please")
        owner = UserFactory()
        scan = MediaScan.objects.create(user=owner, kind="selfie", file=f"selfies/{owner.pk}.jpg", phash=5)
        AccountHold.objects.create(user=owner, scan=scan, matched_scan=scan, distance=2)
        ScreenedMessage.objects.create(message=TextChatMessageFactory(), action="censor", rules=["detector:phone"])
    for name, action in (("phone", "censor"), ("slur", "block")):
        Detector.objects.get_or_create(name=name, defaults={"action": action})
    WatchedWord.objects.create(pattern="venmo", action="censor")
    WatchedWord.objects.create(pattern="zelle", action="block")
    Group.objects.get_or_create(name="moderators")
    SiteSettings.objects.get_or_create(id=1)
    EventSettings.objects.get_or_create(id=1)
    for i in range(2):
        EventAccessPassFactory()
        EventRSVPFactory()
        WaitlistEntry.objects.create(email=f"w{i}@example.edu", name="W", school="USC", state="CA")


def test_every_model_of_our_apps_is_registered_in_admin():
    ours = {m for label in OUR_APPS for m in apps.get_app_config(label).get_models()}
    assert ours - set(admin.site._registry) == set()


@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m._meta.label)
def test_changelist_change_and_add_pages_render_for_superuser(admin_client, every_model_twice, model):
    assert admin_client.get(admin_url(model, "changelist")).status_code == 200

    obj = model._default_manager.order_by("pk").first()
    assert obj is not None
    assert admin_client.get(admin_url(model, "change", quote(obj.pk))).status_code == 200

    expected_add = 403 if model in NO_ADD else 200
    assert admin_client.get(admin_url(model, "add")).status_code == expected_add


def test_audit_log_rows_cannot_be_edited_or_deleted_in_admin(admin_client, db):
    entry = AuditLogFactory(event_type="ban.permanent", details={"reason": "spam"})

    response = admin_client.get(admin_url(AuditLog, "change", entry.pk))
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert response.context["has_delete_permission"] is False

    assert admin_client.post(admin_url(AuditLog, "change", entry.pk), {"event_type": "x"}).status_code == 403
    assert admin_client.post(admin_url(AuditLog, "delete", entry.pk), {"post": "yes"}).status_code == 403
    changelist = admin_client.get(admin_url(AuditLog, "changelist"))
    assert "delete_selected" not in changelist.context["cl"].model_admin.get_actions(changelist.wsgi_request)
    entry.refresh_from_db()
    assert entry.event_type == "ban.permanent"


def test_active_room_member_rows_cannot_be_added_changed_or_deleted_in_admin(admin_client, db):
    room = ActiveRoomFactory()
    member = ActiveRoomMember.objects.get(user=room.user_1)

    assert admin_client.post(admin_url(ActiveRoomMember, "change", member.pk), {}).status_code == 403
    assert admin_client.post(admin_url(ActiveRoomMember, "delete", member.pk), {"post": "yes"}).status_code == 403
    assert ActiveRoomMember.objects.filter(room=room).count() == 2


def test_site_settings_cannot_be_added_twice_or_deleted_in_admin(admin_client, db):
    row, _ = SiteSettings.objects.get_or_create(id=1)

    assert admin_client.get(admin_url(SiteSettings, "add")).status_code == 403
    assert admin_client.post(admin_url(SiteSettings, "delete", row.pk), {"post": "yes"}).status_code == 403
    response = admin_client.post(admin_url(SiteSettings, "change", row.pk), {"open_signup": "on"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.open_signup is True


def test_site_settings_can_be_added_when_the_row_is_missing(admin_client, db):
    SiteSettings.objects.all().delete()
    assert admin_client.get(admin_url(SiteSettings, "add")).status_code == 200


def test_auth_session_token_digest_is_never_shown_in_admin(admin_client, db):
    session = AuthSessionFactory()

    response = admin_client.get(admin_url(AuthSession, "change", session.pk))
    assert response.status_code == 200
    assert session.token_digest not in response.content.decode()
    assert response.context["has_change_permission"] is False
    assert session.token_digest not in admin_client.get(admin_url(AuthSession, "changelist")).content.decode()


def test_email_verification_code_digest_is_never_shown_in_admin(admin_client, db):
    code = EmailVerificationFactory()

    response = admin_client.get(admin_url(EmailVerification, "change", code.pk))
    assert response.status_code == 200
    assert code.code_digest not in response.content.decode()


def test_report_snapshot_is_read_only_and_rendered_escaped(admin_client, db):
    report = ReportFactory(messages_snapshot=[{"text": "<script>alert(1)</script>"}], reported_name="Mallory")

    response = admin_client.get(admin_url(Report, "change", report.pk))
    body = response.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<script>alert(1)" not in body
    form = response.context["adminform"].form
    for name in ("reported_name", "reported_selfie", "reported_video", "messages_snapshot", "reporter_ip"):
        assert name not in form.fields

    response = admin_client.post(
        admin_url(Report, "change", report.pk),
        {"category": "spam", "text": "rude", "reviewed": "on", "reported_name": "Edited"},
    )
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.reviewed is True
    assert report.reported_name == "Mallory"


def user_change_data(user, **overrides):
    """A complete POST for the user change form, as the browser sends it."""
    data = {
        "email": user.email or "",
        "name": user.name,
        "gender": user.gender,
        "account_type": user.account_type,
        "account_expires_at_0": "",
        "account_expires_at_1": "",
        "email_verified": "on",
        "usc_verified_at_0": "",
        "usc_verified_at_1": "",
        "access_status": user.access_status,
        "access_granted_at_0": "",
        "access_granted_at_1": "",
        "invite_code_used": "",
        "qr_unlocked_at_0": "",
        "qr_unlocked_at_1": "",
        "ban_status": user.ban_status,
        "socials": "{}",
        "instagram_posts": "[]",
        "is_active": "on",
    }
    data.update(overrides)
    return data


def test_user_counters_and_usc_id_hash_are_read_only_in_admin(admin_client, db):
    user = UserFactory(permanent=True, timer_total_seconds=120, session_count=1, successful_sessions=1)

    data = user_change_data(user, name="Renamed", timer_total_seconds="99999", usc_id_hash="a" * 64)
    response = admin_client.post(admin_url(User, "change", user.pk), data)

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.name == "Renamed"
    assert (user.timer_total_seconds, user.session_count, user.usc_id_hash) == (120, 1, None)


def test_staff_created_user_is_permanent_with_a_lowercased_email(admin_client, db):
    data = {
        "email": "New.Student@USC.edu",
        "name": "New",
        "password1": "a-long-pass-123",
        "password2": "a-long-pass-123",
    }
    response = admin_client.post(admin_url(User, "add"), data)

    assert response.status_code == 302
    user = User.objects.get(email="new.student@usc.edu")
    assert user.account_type == User.AccountType.PERMANENT
    assert user.check_password("a-long-pass-123")


def test_users_can_be_searched_by_email_in_admin(admin_client, db):
    wanted = UserFactory(permanent=True, email="findme@usc.edu")
    UserFactory(permanent=True, email="someone@usc.edu")

    response = admin_client.get(admin_url(User, "changelist"), {"q": "findme@usc"})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [wanted]


def test_users_can_be_searched_by_id_and_free_text_does_not_break_the_id_lookup(admin_client, db):
    wanted = UserFactory(name="Zed")

    by_id = admin_client.get(admin_url(User, "changelist"), {"q": str(wanted.pk)})
    by_text = admin_client.get(admin_url(User, "changelist"), {"q": "Zed"})

    assert list(by_id.context["cl"].result_list) == [wanted]
    assert list(by_text.context["cl"].result_list) == [wanted]


def test_user_autocomplete_serves_foreign_key_widgets(admin_client, db):
    UserFactory(permanent=True, name="Auto Complete", email="auto@usc.edu")

    response = admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "moderation", "model_name": "ipban", "field_name": "user", "term": "auto@"},
    )

    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == ["Auto Complete <auto@usc.edu>"]


def test_users_changelist_runs_a_bounded_number_of_queries(admin_client, db, django_assert_max_num_queries):
    UserFactory.create_batch(30, permanent=True)

    with django_assert_max_num_queries(USERS_CHANGELIST_QUERIES):
        response = admin_client.get(admin_url(User, "changelist"))
    assert len(response.context["cl"].result_list) >= 30


def test_text_chat_messages_changelist_runs_a_bounded_number_of_queries(
    admin_client, db, django_assert_max_num_queries
):
    TextChatMessageFactory.create_batch(30)

    with django_assert_max_num_queries(MESSAGES_CHANGELIST_QUERIES):
        response = admin_client.get(admin_url(TextChatMessage, "changelist"))
    assert len(response.context["cl"].result_list) == 30


def test_reports_changelist_runs_a_bounded_number_of_queries(admin_client, db, django_assert_max_num_queries):
    ReportFactory.create_batch(30)

    with django_assert_max_num_queries(REPORTS_CHANGELIST_QUERIES):
        response = admin_client.get(admin_url(Report, "changelist"))
    assert len(response.context["cl"].result_list) == 30


def test_domain_state_written_by_services_cannot_be_edited_in_admin(admin_client):
    """Rooms, invites, cooldowns and messages change only through chat services."""
    room = ActiveRoomFactory()
    for model, obj in [(ActiveRoom, room), (Cooldown, CooldownFactory()), (CallInvite, CallInviteFactory())]:
        assert admin_client.post(admin_url(model, "change", obj.pk), {}).status_code == 403
    message = TextChatMessageFactory(room=room)
    assert admin_client.post(admin_url(TextChatMessage, "change", message.pk), {"content": "x"}).status_code == 403
    message.refresh_from_db()
    assert message.content != "x"


def test_ban_status_and_uses_remaining_are_read_only_in_admin(admin_client):
    from referrals.models import InviteCode

    user = UserFactory()
    page = admin_client.get(admin_url(User, "change", user.pk)).content.decode()
    assert 'name="ban_status"' not in page
    code = InviteCodeFactory(max_uses=5, uses_remaining=5)
    page = admin_client.get(admin_url(InviteCode, "change", code.pk)).content.decode()
    assert 'name="uses_remaining"' not in page
