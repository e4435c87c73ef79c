"""factory-boy factories with valid defaults for every model."""

import hashlib
import secrets
import string
from datetime import time, timedelta

import factory
from django.utils import timezone

from accounts.models import AuthSession, EmailVerification, User, UserLocation
from chat.models import (
    ActiveRoom,
    ArchivedChatHistory,
    ArchivedTextChatMessage,
    CallInvite,
    CallPhoto,
    ChatHistory,
    Cooldown,
    EventAccessPass,
    EventRSVP,
    SessionCompletion,
    TextChatMessage,
)
from moderation.models import AuditLog, IPBan, Report, UserBan
from referrals.models import InviteCode, InviteCodeUse, ReferralMapping, ReferralNotification
from usc_cards.models import USCCardRegistration, USCScanAttempt


def sha256_hex(seed: str | None = None) -> str:
    return hashlib.sha256((seed or secrets.token_hex(16)).encode()).hexdigest()


def random_code(length: int, alphabet: str = string.ascii_uppercase + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Student {n}")
    gender = User.Gender.UNSPECIFIED
    account_type = User.AccountType.GUEST
    account_expires_at = factory.LazyFunction(lambda: timezone.now() + User.GUEST_LIFETIME)
    access_status = User.AccessStatus.QR_GRACE_PERIOD
    access_granted_at = factory.LazyFunction(timezone.now)
    password = factory.django.Password(None)

    class Params:
        permanent = factory.Trait(
            account_type=User.AccountType.PERMANENT,
            email=factory.Sequence(lambda n: f"student{n}@usc.edu"),
            email_verified=True,
            account_expires_at=None,
        )
        staff = factory.Trait(
            account_type=User.AccountType.PERMANENT,
            email=factory.Sequence(lambda n: f"staff{n}@usc.edu"),
            email_verified=True,
            account_expires_at=None,
            is_staff=True,
            access_status=User.AccessStatus.PAID,
        )


def pair(a: User, b: User) -> tuple[User, User]:
    """The two users of a cooldown in the order the table requires (user_low < user_high)."""
    return (a, b) if a.pk < b.pk else (b, a)


class AuthSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuthSession

    token_digest = factory.LazyFunction(sha256_hex)
    user = factory.SubFactory(UserFactory)
    ip = "127.0.0.1"
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))


class EmailVerificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmailVerification

    user = factory.SubFactory(UserFactory)
    email = factory.Sequence(lambda n: f"verify{n}@usc.edu")
    code_digest = factory.LazyFunction(sha256_hex)
    purpose = EmailVerification.Purpose.VERIFY_EMAIL
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(minutes=10))


class UserLocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UserLocation

    user = factory.SubFactory(UserFactory)
    latitude = "34.022"
    longitude = "-118.285"
    accuracy_m = 50
    expires_at = factory.LazyFunction(lambda: timezone.now() + UserLocation.LIFETIME)


class CooldownFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cooldown

    user_low = factory.SubFactory(UserFactory)
    user_high = factory.SubFactory(UserFactory)
    expires_at = factory.LazyFunction(lambda: timezone.now() + Cooldown.SESSION_END_TTL)
    reason = Cooldown.Reason.SESSION_END

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        kwargs["user_low"], kwargs["user_high"] = pair(kwargs["user_low"], kwargs["user_high"])
        return super()._create(model_class, *args, **kwargs)


class CallInviteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CallInvite

    from_user = factory.SubFactory(UserFactory)
    to_user = factory.SubFactory(UserFactory)
    chat_mode = "video"
    requested_seconds = 300
    expires_at = factory.LazyAttribute(lambda o: timezone.now() + CallInvite.TTL)


class ActiveRoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ActiveRoom

    user_1 = factory.SubFactory(UserFactory)
    user_2 = factory.SubFactory(UserFactory)
    chat_mode = "text"
    duration_seconds = 300
    started_at = factory.LazyFunction(timezone.now)
    ends_at = factory.LazyAttribute(lambda o: o.started_at + timedelta(seconds=o.duration_seconds))

    class Params:
        ended = factory.Trait(
            status=ActiveRoom.Status.ENDED,
            ended_at=factory.LazyAttribute(lambda o: o.ends_at),
            end_reason=ActiveRoom.EndReason.TIMER,
        )


class TextChatMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TextChatMessage

    room = factory.SubFactory(ActiveRoomFactory)
    sender = factory.LazyAttribute(lambda o: o.room.user_1)
    receiver = factory.LazyAttribute(lambda o: o.room.user_2)
    content = factory.Sequence(lambda n: f"hello {n}")
    client_id = factory.Sequence(lambda n: f"c{n}")


class CallPhotoFactory(factory.django.DjangoModelFactory):
    """A photo sent in a text call (its file is only a name here: tests/test_call_photos.py uploads real ones)."""

    class Meta:
        model = CallPhoto

    message = factory.SubFactory(TextChatMessageFactory, type="image", url="/api/photos/x", deleted=True)
    room = factory.LazyAttribute(lambda o: o.message.room)
    sender = factory.LazyAttribute(lambda o: o.message.sender)
    receiver = factory.LazyAttribute(lambda o: o.message.receiver)
    file = factory.Sequence(lambda n: f"callphotos/{n:032x}.jpg")
    width = 640
    height = 480
    size_bytes = 40_000


class SessionCompletionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SessionCompletion

    room = factory.SubFactory(ActiveRoomFactory, ended=True)
    user = factory.LazyAttribute(lambda o: o.room.user_1)
    partner = factory.LazyAttribute(lambda o: o.room.user_2)
    duration_seconds = 120


class ChatHistoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChatHistory

    room = factory.SubFactory(ActiveRoomFactory, ended=True)
    user = factory.LazyAttribute(lambda o: o.room.user_1)
    partner = factory.LazyAttribute(lambda o: o.room.user_2)
    partner_name = factory.LazyAttribute(lambda o: o.partner.name)
    chat_mode = "text"
    started_at = factory.LazyAttribute(lambda o: o.room.started_at)
    duration_seconds = 120
    messages = factory.LazyFunction(lambda: [{"from": "me", "text": "hi"}])


class ReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Report

    reported = factory.SubFactory(UserFactory)
    reporter = factory.SubFactory(UserFactory)
    category = Report.Category.HARASSMENT
    text = "rude"
    reporter_ip = "10.0.0.1"
    reported_name = factory.LazyAttribute(lambda o: o.reported.name)


class UserBanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UserBan

    user = factory.SubFactory(UserFactory, ban_status=User.BanStatus.TEMPORARY)
    status = UserBan.Status.TEMPORARY
    reason = "4 reports"
    report_count = 4


class IPBanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IPBan

    ip = factory.Sequence(lambda n: f"203.0.113.{n % 250 + 1}")
    reason = "abuse"


class AuditLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditLog

    event_type = "test.event"
    details = factory.LazyFunction(dict)


class InviteCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InviteCode

    code = factory.LazyFunction(lambda: random_code(16))
    type = InviteCode.Type.ADMIN
    max_uses = None
    uses_remaining = None

    class Params:
        user_code = factory.Trait(
            type=InviteCode.Type.USER,
            created_by=factory.SubFactory(UserFactory),
            max_uses=InviteCode.USER_CODE_USES,
            uses_remaining=InviteCode.USER_CODE_USES,
        )


class InviteCodeUseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InviteCodeUse

    code = factory.SubFactory(InviteCodeFactory)
    user = factory.SubFactory(UserFactory)


class ReferralMappingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReferralMapping

    referral_code = factory.LazyFunction(lambda: random_code(10))
    target_user = factory.SubFactory(UserFactory)
    created_by_user = factory.SubFactory(UserFactory)
    target_name = factory.LazyAttribute(lambda o: o.target_user.name)
    created_by_name = factory.LazyAttribute(lambda o: o.created_by_user.name)


class ReferralNotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReferralNotification

    for_user = factory.SubFactory(UserFactory)
    referred_user = factory.SubFactory(UserFactory)
    referred_name = factory.LazyAttribute(lambda o: o.referred_user.name)


class USCCardRegistrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = USCCardRegistration

    usc_id_hash = factory.LazyFunction(sha256_hex)
    last4 = "4321"
    user = factory.SubFactory(UserFactory, access_status=User.AccessStatus.QR_VERIFIED)
    barcode_format = "digits10"


class USCScanAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = USCScanAttempt

    usc_id_hash = factory.LazyFunction(sha256_hex)
    last4 = "4321"
    barcode_format = "digits10"
    passed_validation = True
    ip = "127.0.0.1"


class ArchivedTextChatMessageFactory(factory.django.DjangoModelFactory):
    """A message as retention leaves it in the archive (its id taken from the live sequence's
    far end, so it never meets a live row)."""

    class Meta:
        model = ArchivedTextChatMessage

    id = factory.Sequence(lambda n: 900_000_000 + n)
    room = factory.SubFactory(ActiveRoomFactory, ended=True)
    sender = factory.LazyAttribute(lambda o: o.room.user_1)
    receiver = factory.LazyAttribute(lambda o: o.room.user_2)
    type = "text"
    content = factory.Sequence(lambda n: f"archived {n}")
    client_id = factory.Sequence(lambda n: f"a{n}")
    sent_at = factory.LazyAttribute(lambda o: o.room.started_at)


class ArchivedChatHistoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ArchivedChatHistory

    id = factory.Sequence(lambda n: 900_000_000 + n)
    room = factory.SubFactory(ActiveRoomFactory, ended=True)
    user = factory.LazyAttribute(lambda o: o.room.user_1)
    partner = factory.LazyAttribute(lambda o: o.room.user_2)
    partner_name = factory.LazyAttribute(lambda o: o.partner.name)
    chat_mode = "text"
    started_at = factory.LazyAttribute(lambda o: o.room.started_at)
    duration_seconds = 120
    messages = factory.LazyFunction(lambda: [{"from": "me", "text": "hi"}])
    created_at = factory.LazyAttribute(lambda o: o.room.started_at)


class EventAccessPassFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EventAccessPass

    user = factory.SubFactory(UserFactory)


class EventRSVPFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EventRSVP

    user = factory.SubFactory(UserFactory)
    date = factory.LazyFunction(lambda: timezone.now().date())
    preferred_time = time(19, 30)
