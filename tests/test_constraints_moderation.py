"""PostgreSQL itself refuses the moderation rows the data model forbids (reports, user_bans,
ip_bans, audit_log, site_settings). Each bad write runs in its own atomic() block so the
test transaction stays usable; updates go through queryset.update(), which skips Python."""

from datetime import timedelta

import pytest
from django.db import DataError, IntegrityError, connection, transaction
from django.utils import timezone

from moderation.models import AuditLog, IPBan, Report, SiteSettings, UserBan
from tests.factories import AuditLogFactory, IPBanFactory, ReportFactory, UserBanFactory

pytestmark = pytest.mark.django_db


# --- reports -----------------------------------------------------------------------------


def test_reporter_can_report_a_user_only_once(alice, bob):
    ReportFactory(reporter=alice, reported=bob)
    with pytest.raises(IntegrityError, match="moderation_reports_one_per_pair"), transaction.atomic():
        ReportFactory(reporter=alice, reported=bob, category=Report.Category.SPAM)
    assert Report.objects.filter(reporter=alice, reported=bob).count() == 1


def test_two_users_may_report_each_other(alice, bob):
    ReportFactory(reporter=alice, reported=bob)
    ReportFactory(reporter=bob, reported=alice)
    assert Report.objects.count() == 2


def test_reports_whose_reporters_were_deleted_do_not_collide(alice, bob, stranger):
    ReportFactory(reporter=alice, reported=bob)
    ReportFactory(reporter=stranger, reported=bob)
    # reporter is SET NULL on delete: the evidence stays, the pair rule no longer applies.
    Report.objects.update(reporter=None)
    assert Report.objects.filter(reported=bob, reporter__isnull=True).count() == 2


def test_user_cannot_report_themself(alice):
    with pytest.raises(IntegrityError, match="moderation_reports_not_self"), transaction.atomic():
        ReportFactory(reporter=alice, reported=alice)


def test_report_category_must_be_known(alice, bob):
    with pytest.raises(IntegrityError, match="moderation_reports_category_valid"), transaction.atomic():
        ReportFactory(reporter=alice, reported=bob, category="annoying")


@pytest.mark.parametrize("category", Report.Category.values)
def test_report_accepts_every_known_category(alice, bob, category):
    report = ReportFactory(reporter=alice, reported=bob, category=category)
    report.refresh_from_db()
    assert report.category == category


def test_report_messages_snapshot_must_be_a_json_array(alice, bob):
    with pytest.raises(IntegrityError, match="moderation_reports_snapshot_array"), transaction.atomic():
        ReportFactory(reporter=alice, reported=bob, messages_snapshot={"text": "hi"})


# --- user_bans ---------------------------------------------------------------------------


def test_user_has_at_most_one_ban_record(alice):
    UserBanFactory(user=alice)
    with pytest.raises(IntegrityError, match="user_bans_pkey"), transaction.atomic():
        UserBan.objects.create(user=alice, status=UserBan.Status.PERMANENT)
    assert UserBan.objects.get(user=alice).status == UserBan.Status.TEMPORARY


def test_user_ban_status_must_be_known(alice):
    with pytest.raises(IntegrityError, match="moderation_user_bans_status_valid"), transaction.atomic():
        UserBanFactory(user=alice, status="none")


def test_user_ban_review_status_must_be_known(alice):
    ban = UserBanFactory(user=alice)
    with pytest.raises(IntegrityError, match="moderation_user_bans_review_status_valid"), transaction.atomic():
        UserBan.objects.filter(pk=ban.pk).update(review_status="skipped", reviewed_at=timezone.now())


def test_reviewed_ban_needs_reviewed_at(alice, moderator):
    ban = UserBanFactory(user=alice)
    with pytest.raises(IntegrityError, match="moderation_user_bans_reviewed_has_time"), transaction.atomic():
        UserBan.objects.filter(pk=ban.pk).update(review_status=UserBan.ReviewStatus.REVIEWED, reviewed_by=moderator)
    updated = UserBan.objects.filter(pk=ban.pk).update(
        review_status=UserBan.ReviewStatus.REVIEWED, reviewed_by=moderator, reviewed_at=timezone.now()
    )
    assert updated == 1


def test_user_ban_ip_addresses_must_be_a_json_array(alice):
    with pytest.raises(IntegrityError, match="moderation_user_bans_ips_array"), transaction.atomic():
        UserBanFactory(user=alice, ip_addresses={"ip": "10.0.0.1"})


# --- ip_bans -----------------------------------------------------------------------------


def test_ip_is_banned_at_most_once():
    IPBanFactory(ip="198.51.100.7")
    with pytest.raises(IntegrityError, match="ip_bans_pkey"), transaction.atomic():
        IPBan.objects.create(ip="198.51.100.7", reason="again")
    assert IPBan.objects.filter(ip="198.51.100.7").count() == 1


@pytest.mark.parametrize("lifetime", [timedelta(0), timedelta(days=-1)])
def test_ip_ban_must_expire_after_it_starts(lifetime):
    now = timezone.now()
    with pytest.raises(IntegrityError, match="moderation_ip_bans_expiry_after_ban"), transaction.atomic():
        IPBanFactory(banned_at=now, expires_at=now + lifetime)


def test_ip_ban_without_expiry_is_permanent_and_accepted():
    ban = IPBanFactory(expires_at=None)
    ban.refresh_from_db()
    assert ban.expires_at is None


@pytest.mark.parametrize("ip", ["not-an-ip", "999.1.1.1", "10.0.0.1.5"])
def test_ip_ban_refuses_an_invalid_address(ip):
    # Raw SQL: Django's Inet adapter would raise ValueError before PostgreSQL sees the value.
    with pytest.raises(DataError, match="inet"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO ip_bans (ip, reason, banned_at) VALUES (%s, '', now())", [ip])
    assert not IPBan.objects.exists()


def test_ip_ban_column_is_inet_so_equal_addresses_collide():
    IPBanFactory(ip="2001:db8::1")
    # The same address spelled out in full is the same inet value, so the PK refuses it.
    with pytest.raises(IntegrityError, match="ip_bans_pkey"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ip_bans (ip, reason, banned_at) VALUES (%s, '', now())",
            ["2001:0db8:0000:0000:0000:0000:0000:0001"],
        )


def test_ip_ban_accepts_ipv6():
    IPBanFactory(ip="2001:db8::1")
    assert IPBan.objects.filter(ip="2001:db8::1").exists()


# --- audit_log ---------------------------------------------------------------------------


@pytest.mark.parametrize("details", [[], ["ban"], "ban", 1])
def test_audit_log_details_must_be_a_json_object(details):
    with pytest.raises(IntegrityError, match="moderation_audit_log_details_object"), transaction.atomic():
        AuditLogFactory(details=details)
    assert not AuditLog.objects.exists()


def test_audit_log_accepts_an_object():
    entry = AuditLogFactory(details={"reason": "spam", "reports": 4})
    entry.refresh_from_db()
    assert entry.details == {"reason": "spam", "reports": 4}


# --- site_settings -----------------------------------------------------------------------


def test_site_settings_has_only_the_row_with_id_1():
    assert list(SiteSettings.objects.values_list("pk", flat=True)) == [1]
    with pytest.raises(IntegrityError, match="moderation_site_settings_singleton"), transaction.atomic():
        SiteSettings.objects.create(id=2)
    assert SiteSettings.objects.count() == 1


def test_site_settings_row_cannot_be_renumbered():
    with pytest.raises(IntegrityError, match="moderation_site_settings_singleton"), transaction.atomic():
        SiteSettings.objects.filter(pk=1).update(id=2)


def test_site_settings_row_1_cannot_be_inserted_twice():
    with pytest.raises(IntegrityError, match="site_settings_pkey"), transaction.atomic():
        SiteSettings.objects.create(id=1)
