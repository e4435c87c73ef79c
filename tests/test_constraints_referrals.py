"""PostgreSQL itself refuses the referral rows the data model forbids (invite_codes,
invite_code_uses, referral_mappings, referral_notifications). Each bad write runs in its own
atomic() block so the test transaction stays usable; updates go through queryset.update()."""

import pytest
from django.db import DataError, IntegrityError, transaction
from django.db.models import F

from referrals.models import InviteCode, InviteCodeUse, ReferralMapping, ReferralNotification
from tests.factories import (
    InviteCodeFactory,
    InviteCodeUseFactory,
    ReferralMappingFactory,
    ReferralNotificationFactory,
)

pytestmark = pytest.mark.django_db


def use_once(code: InviteCode) -> int:
    """The sign-up path's conditional decrement: touches the row only while uses remain."""
    return InviteCode.objects.filter(pk=code.pk, uses_remaining__gt=0).update(uses_remaining=F("uses_remaining") - 1)


# --- invite_codes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "abcdefghijklmnop",  # lower case
        "ABCDEFGHIJKLMNO",  # 15 chars
        "ABCDEFGH-JKLMNOP",  # punctuation
        "ABCDEFGH JKLMNOP",  # space
        "ÄBCDEFGHIJKLMNOP",  # non-ASCII letter
        "",
    ],
)
def test_invite_code_must_be_16_chars_a_z_0_9(code):
    with pytest.raises(IntegrityError, match="referrals_invite_codes_format"), transaction.atomic():
        InviteCodeFactory(code=code)
    assert not InviteCode.objects.exists()


def test_invite_code_longer_than_16_chars_is_refused():
    with pytest.raises(DataError, match="too long"), transaction.atomic():
        InviteCodeFactory(code="A" * 17)


def test_invite_code_is_unique():
    InviteCodeFactory(code="ABCDEFGH12345678")
    with pytest.raises(IntegrityError, match="invite_codes_pkey"), transaction.atomic():
        InviteCode.objects.create(code="ABCDEFGH12345678", type=InviteCode.Type.ADMIN)


@pytest.mark.parametrize("owned", [False, True])
def test_invite_code_type_must_be_known(alice, owned):
    # Both CHECKs refuse an unknown type (owner_matches_type only admits user/admin);
    # PostgreSQL names the first failing one in alphabetical order.
    constraint = r"referrals_invite_codes_(type_valid|owner_matches_type)"
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        InviteCodeFactory(type="promo", created_by=alice if owned else None)


@pytest.mark.parametrize(
    ("max_uses", "uses_remaining"),
    [
        (5, None),  # limited code without a remaining count
        (None, 5),  # remaining count without a limit
        (5, 6),  # more remaining than the limit
        (5, -1),  # overspent
        (0, -1),
    ],
)
def test_invite_code_uses_must_be_both_null_or_0_to_max(max_uses, uses_remaining):
    with pytest.raises(IntegrityError, match="referrals_invite_codes_uses_in_range"), transaction.atomic():
        InviteCodeFactory(max_uses=max_uses, uses_remaining=uses_remaining)
    assert not InviteCode.objects.exists()


@pytest.mark.parametrize(("max_uses", "uses_remaining"), [(None, None), (5, 5), (5, 0), (1, 1), (0, 0)])
def test_invite_code_uses_accepts_unlimited_or_0_to_max(max_uses, uses_remaining):
    code = InviteCodeFactory(max_uses=max_uses, uses_remaining=uses_remaining)
    code.refresh_from_db()
    assert (code.max_uses, code.uses_remaining) == (max_uses, uses_remaining)


def test_unlimited_code_cannot_become_limited_by_setting_only_uses_remaining():
    code = InviteCodeFactory(max_uses=None, uses_remaining=None)
    with pytest.raises(IntegrityError, match="referrals_invite_codes_uses_in_range"), transaction.atomic():
        InviteCode.objects.filter(pk=code.pk).update(uses_remaining=3)


def test_user_invite_code_must_have_an_owner():
    with pytest.raises(IntegrityError, match="referrals_invite_codes_owner_matches_type"), transaction.atomic():
        InviteCodeFactory(type=InviteCode.Type.USER, created_by=None, max_uses=4, uses_remaining=4)


def test_admin_invite_code_has_no_owning_user(alice):
    # The model's reading of "created_by nullable for admin codes": admin codes are never owned.
    with pytest.raises(IntegrityError, match="referrals_invite_codes_owner_matches_type"), transaction.atomic():
        InviteCodeFactory(type=InviteCode.Type.ADMIN, created_by=alice)


def test_user_has_at_most_one_user_invite_code(alice):
    InviteCodeFactory(user_code=True, created_by=alice)
    with pytest.raises(IntegrityError, match="referrals_invite_codes_one_user_code"), transaction.atomic():
        InviteCodeFactory(user_code=True, created_by=alice)
    assert InviteCode.objects.filter(created_by=alice).count() == 1


def test_different_users_each_get_a_user_code_and_admin_codes_are_unbounded(alice, bob):
    InviteCodeFactory(user_code=True, created_by=alice)
    InviteCodeFactory(user_code=True, created_by=bob)
    InviteCodeFactory()
    InviteCodeFactory(max_uses=10, uses_remaining=10)
    assert InviteCode.objects.filter(type="user").count() == 2
    assert InviteCode.objects.filter(type="admin").count() == 2


def test_conditional_decrement_stops_at_zero():
    code = InviteCodeFactory(max_uses=2, uses_remaining=2)
    assert [use_once(code), use_once(code), use_once(code)] == [1, 1, 0]
    code.refresh_from_db()
    assert code.uses_remaining == 0


def test_blind_decrement_below_zero_is_refused():
    code = InviteCodeFactory(max_uses=1, uses_remaining=0)
    with pytest.raises(IntegrityError, match="referrals_invite_codes_uses_in_range"), transaction.atomic():
        InviteCode.objects.filter(pk=code.pk).update(uses_remaining=F("uses_remaining") - 1)
    code.refresh_from_db()
    assert code.uses_remaining == 0


def test_uses_remaining_cannot_be_raised_above_max_uses():
    code = InviteCodeFactory(max_uses=4, uses_remaining=4)
    with pytest.raises(IntegrityError, match="referrals_invite_codes_uses_in_range"), transaction.atomic():
        InviteCode.objects.filter(pk=code.pk).update(uses_remaining=F("uses_remaining") + 1)


# --- invite_code_uses --------------------------------------------------------------------


def test_user_uses_a_code_at_most_once(alice):
    code = InviteCodeFactory()
    InviteCodeUseFactory(code=code, user=alice)
    with pytest.raises(IntegrityError, match="referrals_invite_code_uses_once"), transaction.atomic():
        InviteCodeUseFactory(code=code, user=alice)
    assert InviteCodeUse.objects.filter(code=code, user=alice).count() == 1


def test_code_may_be_used_by_many_users_and_a_user_may_use_many_codes(alice, bob):
    first, second = InviteCodeFactory(), InviteCodeFactory()
    InviteCodeUseFactory(code=first, user=alice)
    InviteCodeUseFactory(code=first, user=bob)
    InviteCodeUseFactory(code=second, user=alice)
    assert InviteCodeUse.objects.count() == 3


# --- referral_mappings -------------------------------------------------------------------


@pytest.mark.parametrize("code", ["abc", "ABCDEFGHI", "abcd-fghij", "abcd fghij", "ÄBCDEFGHIJ", ""])
def test_referral_code_must_be_10_chars_alphanumeric(code):
    with pytest.raises(IntegrityError, match="referrals_referral_mappings_format"), transaction.atomic():
        ReferralMappingFactory(referral_code=code)
    assert not ReferralMapping.objects.exists()


def test_referral_code_accepts_mixed_case_alphanumerics():
    mapping = ReferralMappingFactory(referral_code="aB3dE6gH9j")
    assert ReferralMapping.objects.filter(pk="aB3dE6gH9j").exists()
    assert mapping.referral_code == "aB3dE6gH9j"


def test_referral_code_is_unique(alice, bob):
    ReferralMappingFactory(referral_code="ABCDE12345")
    with pytest.raises(IntegrityError, match="referral_mappings_pkey"), transaction.atomic():
        ReferralMapping.objects.create(
            referral_code="ABCDE12345",
            target_user=alice,
            created_by_user=bob,
            target_name=alice.name,
            created_by_name=bob.name,
        )


# --- referral_notifications --------------------------------------------------------------


def test_referral_notification_is_unique_per_pair(alice, bob):
    ReferralNotificationFactory(for_user=alice, referred_user=bob)
    with pytest.raises(IntegrityError, match="referrals_referral_notifications_once"), transaction.atomic():
        ReferralNotificationFactory(for_user=alice, referred_user=bob)
    assert ReferralNotification.objects.filter(for_user=alice).count() == 1


def test_referral_notifications_in_both_directions_are_allowed(alice, bob):
    ReferralNotificationFactory(for_user=alice, referred_user=bob)
    ReferralNotificationFactory(for_user=bob, referred_user=alice)
    assert ReferralNotification.objects.count() == 2


def test_user_is_not_introduced_to_themself(alice):
    with pytest.raises(IntegrityError, match="referrals_referral_notifications_not_self"), transaction.atomic():
        ReferralNotificationFactory(for_user=alice, referred_user=alice)
