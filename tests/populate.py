"""Put at least one row in every table (wipe, export and restore tests start from this)."""

from datetime import time

from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone

from accounts.selectors import get_site_settings
from chat.models import Block, EventAccessPass, EventRSVP, EventSettings, Match, MeetAgainAnswer
from moderation.models import Appeal, Case, CaseNote, DataExport, Strike, StrikePreset
from referrals.models import WaitlistEntry
from screening.models import AccountHold, Detector, MediaScan, ScreenedMessage, WatchedWord
from tests import factories as f


def populate_every_table() -> dict:
    alice = f.UserFactory(name="Alice", permanent=True)
    bob = f.UserFactory(name="Bob")
    moderator = f.UserFactory(name="Mod", staff=True)
    moderator.groups.add(Group.objects.get_or_create(name="moderators")[0])
    moderator.user_permissions.add(Permission.objects.get(codename="view_report"))
    SessionStore().create()  # a django_session row (an admin login)
    get_site_settings()  # the singleton row (a transaction=True test may have flushed it)

    f.AuthSessionFactory(user=alice)
    f.EmailVerificationFactory(user=alice, email=alice.email)
    f.UserLocationFactory(user=alice)
    code = f.InviteCodeFactory(user_code=True, created_by=alice)
    f.InviteCodeUseFactory(code=code, user=bob)
    f.ReferralMappingFactory(target_user=alice, created_by_user=bob)
    f.ReferralNotificationFactory(for_user=alice, referred_user=bob, introduced_by=bob)
    f.USCCardRegistrationFactory(user=alice)
    f.USCScanAttemptFactory()
    ended = f.ActiveRoomFactory(user_1=alice, user_2=bob, ended=True)
    live = f.ActiveRoomFactory(user_1=alice, user_2=bob)  # fills active_room_members (trigger)
    f.CallInviteFactory(from_user=alice, to_user=bob)
    message = f.TextChatMessageFactory(room=live)
    f.CallPhotoFactory(message=message)  # a photo row beside the message (its own file is not needed)
    # Screening: rules, what it did to a message, a scan with its hash, a hold.
    WatchedWord.objects.create(pattern="venmo", action="censor", created_by=moderator)
    Detector.objects.get_or_create(name="phone", defaults={"enabled": True, "action": "censor"})
    ScreenedMessage.objects.create(message=message, action="censor", rules=["detector:phone"])
    scan = MediaScan.objects.create(user=alice, kind="selfie", file="selfies/a.jpg", phash=-42, nudity_score=0.01)
    AccountHold.objects.create(user=bob, scan=scan, matched_scan=scan, distance=3)
    f.SessionCompletionFactory(room=ended, user=alice, partner=bob)
    f.ChatHistoryFactory(room=ended, user=alice, partner=bob)
    f.ArchivedTextChatMessageFactory(room=ended)  # what retention moved out
    f.ArchivedChatHistoryFactory(room=ended, user=bob, partner=alice)
    f.CooldownFactory(user_low=alice, user_high=bob)
    Block.objects.create(blocker=bob, blocked=moderator)
    MeetAgainAnswer.objects.create(room=ended, user=alice, answer=True)
    low, high = sorted([alice, bob], key=lambda u: str(u.pk))
    Match.objects.create(user_low=low, user_high=high, room=ended, low_shares=["instagram"])
    case = Case.objects.create(reported=bob, reported_name=bob.name)
    report = f.ReportFactory(reported=bob, reporter=alice, case=case)
    CaseNote.objects.create(case=case, text="asked for details")
    preset, _ = StrikePreset.objects.get_or_create(title="Harassment", defaults={"text": "Harassment."})
    strike = Strike.objects.create(
        user=bob, action="warning", reason="Harassment.", preset=preset, case=case, automatic=True
    )
    strike.reports.add(report)
    Appeal.objects.create(strike=strike, text="I did not.")
    f.UserBanFactory()
    f.IPBanFactory(user=bob)
    f.AuditLogFactory(actor=moderator, target=bob)
    DataExport.objects.create(user=alice)
    # Event mode: the settings row, a pass, an RSVP (weekdays is a JSON array, times are TIME).
    EventSettings.objects.create(enabled=True, weekdays=[4, 5], title="Friday night", updated_by=moderator)
    EventAccessPass.objects.create(user=bob, granted_by=moderator, note="tester")
    EventRSVP.objects.create(user=alice, date=timezone.now().date(), preferred_time=time(19, 30))
    WaitlistEntry.objects.create(
        email="carol@example.edu", name="Carol", school="USC", state="CA", verified_at=timezone.now()
    )
    return {"alice": alice, "bob": bob, "moderator": moderator, "live_room": live}
