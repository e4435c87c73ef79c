"""PostgreSQL itself refuses the accounts rows the data model forbids (users, sessions,
email_verifications, user_locations). Each bad write runs in its own atomic() block so the
test transaction stays usable; updates go through queryset.update(), which skips Python."""

import secrets
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F, JSONField, Value
from django.utils import timezone

from accounts.models import AuthSession, EmailVerification, User, UserLocation
from tests.factories import (
    AuthSessionFactory,
    EmailVerificationFactory,
    UserFactory,
    UserLocationFactory,
    sha256_hex,
)

pytestmark = pytest.mark.django_db


# --- users -----------------------------------------------------------------------------


def test_user_email_must_be_lower_case():
    with pytest.raises(IntegrityError, match="accounts_users_email_lowercase"), transaction.atomic():
        UserFactory(permanent=True, email="Alice@usc.edu")
    assert not User.objects.filter(email__iexact="alice@usc.edu").exists()


def test_user_email_cannot_be_updated_to_upper_case(alice):
    with pytest.raises(IntegrityError, match="accounts_users_email_lowercase"), transaction.atomic():
        User.objects.filter(pk=alice.pk).update(email="ALICE@usc.edu")


def test_user_email_is_unique():
    UserFactory(permanent=True, email="alice@usc.edu")
    with pytest.raises(IntegrityError, match="users_email_key"), transaction.atomic():
        UserFactory(permanent=True, email="alice@usc.edu")


def test_user_email_is_unique_case_insensitively_because_it_must_be_lower_case():
    UserFactory(permanent=True, email="alice@usc.edu")
    # The case variant cannot be stored at all, so it can never sit beside the original.
    with pytest.raises(IntegrityError, match="accounts_users_email_lowercase"), transaction.atomic():
        UserFactory(permanent=True, email="Alice@USC.edu")
    assert User.objects.filter(email__iexact="alice@usc.edu").count() == 1


def test_two_guests_without_email_are_allowed():
    first = UserFactory(email=None)
    second = UserFactory(email=None)
    assert User.objects.filter(pk__in=[first.pk, second.pk], email__isnull=True).count() == 2


def test_user_usc_id_hash_is_unique(alice):
    digest = sha256_hex("1234567890")
    User.objects.filter(pk=alice.pk).update(usc_id_hash=digest)
    with pytest.raises(IntegrityError, match="accounts_users_usc_id_hash_unique"), transaction.atomic():
        UserFactory(usc_id_hash=digest)


def test_two_users_without_usc_id_hash_are_allowed(alice, bob):
    assert User.objects.filter(pk__in=[alice.pk, bob.pk], usc_id_hash__isnull=True).count() == 2


@pytest.mark.parametrize(
    "value",
    [
        "1234567890",  # the raw 10-digit card ID
        "A" * 64,  # upper-case hex
        "a" * 63,  # too short
        "g" * 64,  # not hex
    ],
)
def test_user_usc_id_hash_must_be_a_hex_sha256_digest(value):
    with pytest.raises(IntegrityError, match="accounts_users_usc_id_hash_is_digest"), transaction.atomic():
        UserFactory(usc_id_hash=value)


def test_user_usc_id_hash_accepts_a_digest():
    user = UserFactory(usc_id_hash=sha256_hex("1234567890"))
    user.refresh_from_db()
    assert len(user.usc_id_hash) == 64


@pytest.mark.parametrize("name", ["", "   ", "\t\n"])
def test_user_name_cannot_be_blank(name):
    with pytest.raises(IntegrityError, match="accounts_users_name_not_blank"), transaction.atomic():
        UserFactory(name=name)


@pytest.mark.parametrize(
    ("field", "constraint"),
    [
        ("gender", "accounts_users_gender_valid"),
        ("account_type", "accounts_users_account_type_valid"),
        ("access_status", "accounts_users_access_status_valid"),
        ("ban_status", "accounts_users_ban_status_valid"),
    ],
)
def test_user_choice_fields_refuse_unknown_values(alice, field, constraint):
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        User.objects.filter(pk=alice.pk).update(**{field: "bogus"})


def test_permanent_user_must_have_an_email():
    with pytest.raises(IntegrityError, match="accounts_users_permanent_has_email"), transaction.atomic():
        UserFactory(account_type=User.AccountType.PERMANENT, email=None)


def test_permanent_user_cannot_drop_their_email():
    user = UserFactory(permanent=True)
    with pytest.raises(IntegrityError, match="accounts_users_permanent_has_email"), transaction.atomic():
        User.objects.filter(pk=user.pk).update(email=None)


def test_guest_must_have_an_account_expiry():
    with pytest.raises(IntegrityError, match="accounts_users_guest_expires"), transaction.atomic():
        UserFactory(account_type=User.AccountType.GUEST, account_expires_at=None)


def test_permanent_user_needs_no_account_expiry():
    user = UserFactory(permanent=True)
    user.refresh_from_db()
    assert user.account_expires_at is None


@pytest.mark.parametrize("field", ["timer_total_seconds", "session_count", "successful_sessions", "streak_days"])
def test_user_counters_cannot_go_negative(alice, field):
    with pytest.raises(IntegrityError, match="accounts_users_counters_valid"), transaction.atomic():
        User.objects.filter(pk=alice.pk).update(**{field: F(field) - 1})
    alice.refresh_from_db()
    assert getattr(alice, field) == 0


def test_user_successful_sessions_cannot_exceed_session_count(alice):
    User.objects.filter(pk=alice.pk).update(session_count=3, successful_sessions=3)
    with pytest.raises(IntegrityError, match="accounts_users_counters_valid"), transaction.atomic():
        User.objects.filter(pk=alice.pk).update(successful_sessions=F("successful_sessions") + 1)


@pytest.mark.parametrize("value", [[], ["@alice"], "alice", 3, None])
def test_user_socials_must_be_a_json_object(alice, value):
    # Value(..., JSONField()) so None is stored as JSON null, not SQL NULL.
    with pytest.raises(IntegrityError, match="accounts_users_socials_object"), transaction.atomic():
        User.objects.filter(pk=alice.pk).update(socials=Value(value, JSONField()))


def test_user_socials_accepts_an_object_of_handles():
    user = UserFactory(socials={"instagram": "alice", "snapchat": "alice.s"})
    user.refresh_from_db()
    assert user.socials == {"instagram": "alice", "snapchat": "alice.s"}


@pytest.mark.parametrize("value", [{"0": "https://www.instagram.com/p/abc/"}, "https://www.instagram.com/p/abc/"])
def test_user_instagram_posts_must_be_a_json_array(value):
    # Either check may report first: a non-array also has no items shaped like post URLs.
    match = "accounts_users_instagram_posts_(array|are_post_urls)"
    with pytest.raises(IntegrityError, match=match), transaction.atomic():
        UserFactory(instagram_posts=value)


def test_user_instagram_posts_holds_at_most_10():
    posts = [f"https://www.instagram.com/p/post{i}/" for i in range(11)]
    with pytest.raises(IntegrityError, match="accounts_users_instagram_posts_max_10"), transaction.atomic():
        UserFactory(instagram_posts=posts)


def test_user_instagram_posts_accepts_10():
    posts = [f"https://www.instagram.com/p/post{i}/" for i in range(10)]
    user = UserFactory(instagram_posts=posts)
    user.refresh_from_db()
    assert user.instagram_posts == posts


@pytest.mark.parametrize(
    "posts",
    [
        ["https://example.com/p/abcdef/"],
        ["https://www.instagram.com/alice/"],
        ["http://www.instagram.com/p/abcdef/"],
        ["https://www.instagram.com/p/abcdef/", 42],
        [{"url": "https://www.instagram.com/p/abcdef/"}],
    ],
)
def test_user_instagram_posts_must_be_instagram_post_urls(posts):
    with (
        pytest.raises(IntegrityError, match="accounts_users_instagram_posts_are_post_urls"),
        transaction.atomic(),
    ):
        UserFactory(instagram_posts=posts)


def test_user_instagram_posts_accepts_post_and_reel_urls():
    posts = ["https://www.instagram.com/p/CxYz123_ab/", "https://instagram.com/reel/Abc-12345"]
    assert UserFactory(instagram_posts=posts).instagram_posts == posts


# --- sessions ----------------------------------------------------------------------------


def test_user_has_at_most_one_active_session(alice):
    AuthSessionFactory(user=alice)
    with pytest.raises(IntegrityError, match="accounts_sessions_one_active_per_user"), transaction.atomic():
        AuthSessionFactory(user=alice)
    assert AuthSession.objects.filter(user=alice).count() == 1


def test_inactive_session_cannot_be_reactivated_beside_an_active_one(alice):
    old = AuthSessionFactory(user=alice, is_active=False)
    AuthSessionFactory(user=alice)
    with pytest.raises(IntegrityError, match="accounts_sessions_one_active_per_user"), transaction.atomic():
        AuthSession.objects.filter(pk=old.pk).update(is_active=True)


def test_new_active_session_is_allowed_once_the_old_one_is_deactivated(alice):
    old = AuthSessionFactory(user=alice)
    AuthSession.objects.filter(pk=old.pk).update(is_active=False)
    new = AuthSessionFactory(user=alice)
    AuthSessionFactory(user=alice, is_active=False)
    assert list(AuthSession.objects.filter(user=alice, is_active=True).values_list("pk", flat=True)) == [new.pk]
    assert AuthSession.objects.filter(user=alice).count() == 3


def test_two_users_may_each_have_an_active_session(alice, bob):
    AuthSessionFactory(user=alice)
    AuthSessionFactory(user=bob)
    assert AuthSession.objects.filter(is_active=True).count() == 2


@pytest.mark.parametrize(
    "token",
    [
        secrets.token_urlsafe(32),  # the raw token a client holds
        sha256_hex().upper(),  # upper-case hex
        sha256_hex()[:40],  # a SHA-1-sized digest
    ],
    ids=["raw_token", "upper_case_hex", "sha1_sized"],  # the same names on every xdist worker
)
def test_session_token_must_be_stored_as_a_hex_sha256_digest(alice, token):
    with pytest.raises(IntegrityError, match="accounts_sessions_token_is_digest"), transaction.atomic():
        AuthSessionFactory(user=alice, token_digest=token)


def test_session_token_digest_is_unique(alice, bob):
    digest = sha256_hex()
    AuthSessionFactory(user=alice, token_digest=digest)
    with pytest.raises(IntegrityError, match="sessions_token_digest_key"), transaction.atomic():
        AuthSessionFactory(user=bob, token_digest=digest)


@pytest.mark.parametrize("lifetime", [timedelta(0), timedelta(seconds=-1)])
def test_session_must_expire_after_creation(alice, lifetime):
    now = timezone.now()
    with pytest.raises(IntegrityError, match="accounts_sessions_expiry_after_creation"), transaction.atomic():
        AuthSessionFactory(user=alice, created_at=now, expires_at=now + lifetime)


# --- email_verifications -----------------------------------------------------------------


def test_email_verification_attempts_stop_at_5(alice):
    verification = EmailVerificationFactory(user=alice, attempts=4)
    EmailVerification.objects.filter(pk=verification.pk).update(attempts=F("attempts") + 1)
    with pytest.raises(IntegrityError, match="accounts_email_verifications_attempts_0_5"), transaction.atomic():
        EmailVerification.objects.filter(pk=verification.pk).update(attempts=F("attempts") + 1)
    verification.refresh_from_db()
    assert verification.attempts == 5


def test_email_verification_attempts_cannot_be_negative(alice):
    with pytest.raises(IntegrityError, match="attempts"), transaction.atomic():
        EmailVerificationFactory(user=alice, attempts=-1)


def test_email_verification_purpose_must_be_known(alice):
    with pytest.raises(IntegrityError, match="accounts_email_verifications_purpose_valid"), transaction.atomic():
        EmailVerificationFactory(user=alice, purpose="login")


@pytest.mark.parametrize("purpose", EmailVerification.Purpose.values)
def test_email_verification_accepts_every_known_purpose(alice, purpose):
    verification = EmailVerificationFactory(user=alice, purpose=purpose)
    verification.refresh_from_db()
    assert verification.purpose == purpose


def test_email_verification_email_must_be_lower_case(alice):
    with pytest.raises(IntegrityError, match="accounts_email_verifications_email_lowercase"), transaction.atomic():
        EmailVerificationFactory(user=alice, email="Alice@USC.edu")


# --- user_locations ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "constraint"),
    [
        ("latitude", "90.001", "accounts_user_locations_latitude_range"),
        ("latitude", "-90.001", "accounts_user_locations_latitude_range"),
        ("longitude", "180.001", "accounts_user_locations_longitude_range"),
        ("longitude", "-180.001", "accounts_user_locations_longitude_range"),
        ("accuracy_m", 50_001, "accounts_user_locations_accuracy_max_50km"),
    ],
)
def test_user_location_values_must_be_in_range(alice, field, value, constraint):
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        UserLocationFactory(user=alice, **{field: value})
    assert not UserLocation.objects.filter(user=alice).exists()


def test_user_location_accepts_the_extremes(alice):
    UserLocationFactory(user=alice, latitude="-90.000", longitude="180.000", accuracy_m=50_000)
    location = UserLocation.objects.get(user=alice)
    assert (str(location.latitude), str(location.longitude), location.accuracy_m) == ("-90.000", "180.000", 50_000)


def test_user_has_one_location_row(alice):
    UserLocationFactory(user=alice)
    with pytest.raises(IntegrityError, match="user_locations_pkey"), transaction.atomic():
        UserLocation.objects.create(user=alice, latitude="1", longitude="1", accuracy_m=1, expires_at=timezone.now())
