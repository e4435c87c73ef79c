"""One user's data, for a data request: everything stored about them that they may see
(manage.py export_user, and their own POST /api/me/export through operations/exports.py)."""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from accounts.models import AuthSession, EmailVerification, UserLocation
from audit.services import record_audit
from chat.models import (
    ActiveRoom,
    ArchivedChatHistory,
    ArchivedTextChatMessage,
    Block,
    CallInvite,
    CallPhoto,
    ChatHistory,
    Cooldown,
    EventAccessPass,
    EventRSVP,
    Match,
    MeetAgainAnswer,
    SessionCompletion,
    TextChatMessage,
)
from moderation.models import Appeal, DataExport, IPBan, Report, Strike, UserBan
from referrals.models import InviteCode, InviteCodeUse, ReferralMapping, ReferralNotification, WaitlistEntry
from screening.models import AccountHold, MediaScan
from usc_cards.models import USCCardRegistration

SECRET_COLUMNS = {"password", "token_digest", "code_digest", "usc_id_hash"}


def _value(value):
    if isinstance(value, FieldFile):
        return value.name or None
    return value


def _row(obj, *, omit: tuple[str, ...] = ()) -> dict:
    return {
        f.attname: _value(getattr(obj, f.attname))
        for f in obj._meta.concrete_fields
        if f.attname not in SECRET_COLUMNS and f.attname not in omit
    }


def _rows(queryset, **kwargs) -> list[dict]:
    return [_row(obj, **kwargs) for obj in queryset.order_by("pk")]


# What a user's export leaves out of rows that are theirs but also hold someone else's data or
# the moderators' (README → My data): a report's snapshot of the reported person (name, copied
# selfie and video, the room's messages), whether moderators reviewed it, and who banned whom.
REPORT_SNAPSHOT_COLUMNS = (
    "reported_name",
    "reported_selfie",
    "reported_video",
    "video_still",
    "messages_snapshot",
    "reviewed",
)
SCREENING_NOTE = (
    "phash is a perceptual hash of your selfie or of an intro-video frame: a 64-bit number that tells "
    "near-identical pictures apart; the picture cannot be rebuilt from it. It is deleted with your media "
    "or account, except while you are banned: then it is kept, without your account, so that a new "
    "account with the same picture is held for a moderator."
)
MODERATOR_COLUMNS = ("reviewed_by_id", "banned_by_id")


def user_document(user) -> dict:
    """Everything stored about one user that they may see, for a data request (manage.py
    export_user and their own POST /api/me/export): profile, sessions (without the token
    digests), codes, cards (last4, never the hash), calls, the messages of the rooms they were
    in (both sides', live and archived), the photos sent in text calls (mine, and those I
    received that screening passed: rows with the address of each), history, cooldowns, their "I'd meet again" answers
    (never the other's), matches, introductions, reports they made without the snapshot of the
    reported person (and only a count of reports about them, never who made them), the people
    they blocked (not who blocked them), bans, strikes and appeals without the moderators' names,
    their data exports.
    Secrets (password hash, digests) are left out."""
    my_rooms = ActiveRoom.objects.filter(Q(user_1=user) | Q(user_2=user))
    in_my_rooms = Q(room__in=my_rooms.values("pk"))
    profile = _row(user)
    profile["has_password"] = user.has_usable_password()
    profile["has_usc_card"] = bool(user.usc_id_hash)
    return {
        "exported_at": timezone.now(),
        "profile": profile,
        "groups": list(user.groups.values_list("name", flat=True)),
        "sessions": _rows(AuthSession.objects.filter(user=user)),
        "email_verifications": _rows(EmailVerification.objects.filter(user=user)),
        "location": _rows(UserLocation.objects.filter(user=user)),
        "invite_codes_created": _rows(InviteCode.objects.filter(created_by=user)),
        "invite_codes_used": _rows(InviteCodeUse.objects.filter(user=user)),
        "introduction_links": _rows(ReferralMapping.objects.filter(Q(target_user=user) | Q(created_by_user=user))),
        "introduction_notifications": _rows(ReferralNotification.objects.filter(for_user=user)),
        "usc_card_registration": _rows(USCCardRegistration.objects.filter(user=user)),
        "call_invites": _rows(CallInvite.objects.filter(Q(from_user=user) | Q(to_user=user))),
        "rooms": _rows(my_rooms),
        "messages": _rows(TextChatMessage.objects.filter(in_my_rooms)),
        "archived_messages": _rows(ArchivedTextChatMessage.objects.filter(in_my_rooms)),
        # Photos sent in text calls: mine (whatever screening said) and those I received once
        # screening passed them, each with the address that serves it to me while signed in.
        "call_photos": [
            {**_row(photo), "url": photo.url}
            for photo in CallPhoto.objects.filter(
                Q(sender=user) | Q(receiver=user, status=CallPhoto.Status.PASSED)
            ).order_by("created_at", "pk")
        ],
        "session_completions": _rows(SessionCompletion.objects.filter(user=user)),
        "chat_history": _rows(ChatHistory.objects.filter(user=user)),
        "archived_chat_history": _rows(ArchivedChatHistory.objects.filter(user=user)),
        "cooldowns": _rows(Cooldown.objects.filter(Q(user_low=user) | Q(user_high=user))),
        "meet_again_answers": _rows(MeetAgainAnswer.objects.filter(user=user)),
        "matches": _rows(Match.objects.filter(Q(user_low=user) | Q(user_high=user))),
        "reports_made": _rows(Report.objects.filter(reporter=user), omit=REPORT_SNAPSHOT_COLUMNS),
        "reports_received": Report.objects.filter(reported=user).count(),
        "blocks_made": _rows(Block.objects.filter(blocker=user)),
        "ban": _rows(UserBan.objects.filter(user=user), omit=MODERATOR_COLUMNS),
        "ip_bans": _rows(IPBan.objects.filter(user=user), omit=MODERATOR_COLUMNS),
        # Strikes and appeals: the decision, its reason and dates, without the moderator or the
        # case (which names the reporters); the reports a strike answers are not the user's.
        "strikes": _rows(Strike.objects.filter(user=user), omit=("created_by_id", "case_id", "preset_id")),
        "appeals": _rows(Appeal.objects.filter(strike__user=user), omit=("decided_by_id",)),
        "event_rsvps": _rows(EventRSVP.objects.filter(user=user)),
        "event_access_pass": _rows(EventAccessPass.objects.filter(user=user), omit=("granted_by_id",)),
        "waitlist_entry": _rows(WaitlistEntry.objects.filter(email=user.email)) if user.email else [],
        "data_exports": _rows(DataExport.objects.filter(user=user), omit=("file",)),
        "screening": {
            "note": SCREENING_NOTE,
            "media_scans": _rows(MediaScan.objects.filter(user=user), omit=("decided_by_id",)),
            "account_holds": _rows(AccountHold.objects.filter(user=user), omit=("released_by_id", "matched_scan_id")),
        },
    }


def export_user(user, *, actor_description: str = "manage.py") -> str:
    """The user's document as JSON text; writes a `user.exported` audit line."""
    document = json.dumps(user_document(user), cls=DjangoJSONEncoder, indent=2)
    with transaction.atomic(durable=True):
        record_audit("user.exported", target=user, details={"by": actor_description, "bytes": len(document)})
    return document
