"""POST /api/reports: who may report whom, one per pair, the evidence snapshot, the
reporter's IP, 20 a day."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from accounts.models import User
from accounts.services import profile
from accounts.services.profile import delete_account
from moderation import evidence
from moderation.models import AuditLog, Report
from tests.api_support import api, signed_in
from tests.factories import (
    ActiveRoomFactory,
    ChatHistoryFactory,
    ReportFactory,
    TextChatMessageFactory,
    UserFactory,
)

URL = "/api/reports"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def report(client, reported, *, category="harassment", text="rude", room=None, ip="198.51.100.1", **headers):
    body = {"reported_user_id": str(reported.pk), "category": category, "text": text}
    if room is not None:
        body["room_id"] = str(room.pk)
    return client.post(URL, body, format="json", REMOTE_ADDR=ip, **headers)


def error_code(response):
    return response.json()["error"]["code"]


def test_member_can_report_someone_from_an_ended_room_with_messages_snapshot_and_ip(alice, bob):
    room = ActiveRoomFactory(user_1=alice, user_2=bob, ended=True)
    TextChatMessageFactory(room=room, sender=bob, receiver=alice, content="you are awful")
    TextChatMessageFactory(room=room, sender=alice, receiver=bob, content="bye")

    response = report(signed_in(alice), bob, text="  insults  ", ip="198.51.100.7")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reported_user_id"] == str(bob.pk)
    assert body["room_id"] == str(room.pk)
    row = Report.objects.get(pk=body["id"])
    assert (row.reporter, row.reported, row.category, row.text) == (alice, bob, "harassment", "insults")
    assert row.reporter_ip == "198.51.100.7"
    assert row.reported_name == "Bob"
    assert [m["text"] for m in row.messages_snapshot] == ["you are awful", "bye"]
    assert row.messages_snapshot[0]["sender"] == str(bob.pk)
    audit = AuditLog.objects.get(event_type="report.created")
    assert (audit.actor, audit.target, audit.ip) == (alice, bob, "198.51.100.7")


def test_report_about_a_live_room_partner_is_accepted(alice, bob):
    room = ActiveRoomFactory(user_1=bob, user_2=alice)
    response = report(signed_in(alice), bob, room=room)
    assert response.status_code == 201
    assert Report.objects.get().room == room


def test_messages_come_from_chat_history_once_retention_removed_them(alice, bob):
    room = ActiveRoomFactory(user_1=alice, user_2=bob, ended=True)
    ChatHistoryFactory(room=room, user=alice, partner=bob, messages=[{"text": "archived line"}])

    assert report(signed_in(alice), bob).status_code == 201
    assert Report.objects.get().messages_snapshot == [{"text": "archived line"}]


def test_report_without_a_shared_room_is_refused_403(alice, bob):
    response = report(signed_in(alice), bob)
    assert response.status_code == 403
    assert error_code(response) == "cannot_report"
    assert not Report.objects.exists()


def test_room_id_of_a_room_the_pair_did_not_share_is_refused(alice, bob, stranger):
    ActiveRoomFactory(user_1=alice, user_2=bob, ended=True)
    other = ActiveRoomFactory(user_1=alice, user_2=stranger, ended=True)
    response = report(signed_in(alice), bob, room=other)
    assert response.status_code == 403
    assert error_code(response) == "cannot_report"


def test_profile_report_needs_no_room_but_a_selfie_or_video_to_have_been_seen(alice, bob, stranger):
    bob.selfie.name = default_storage.save("selfies/bob.jpg", ContentFile(b"\xff\xd8jpeg"))
    bob.save(update_fields=["selfie"])

    assert report(signed_in(alice), bob, category="profile").status_code == 201
    refused = report(signed_in(alice), stranger, category="profile")  # no selfie, no video
    assert refused.status_code == 403
    assert error_code(refused) == "cannot_report"


def test_selfie_and_video_evidence_survive_profile_changes_and_account_deletion(
    alice, bob, media_root, django_capture_on_commit_callbacks
):
    bob.selfie.name = default_storage.save("selfies/b1.jpg", ContentFile(b"\xff\xd8first"))
    bob.video.name = default_storage.save("videos/b1.mp4", ContentFile(b"mp4-bytes"))
    bob.save(update_fields=["selfie", "video"])
    ActiveRoomFactory(user_1=alice, user_2=bob, ended=True)

    assert report(signed_in(alice), bob).status_code == 201
    row = Report.objects.get()
    assert row.reported_selfie.startswith("evidence/") and row.reported_video.startswith("evidence/")

    with django_capture_on_commit_callbacks(execute=True):
        profile.delete_account(User.objects.get(pk=bob.pk), ip=None)  # deletes bob's own files

    row.refresh_from_db()
    assert row.reported is None  # SET NULL: the evidence outlives the account
    assert row.reported_name == "Bob"
    assert not default_storage.exists("selfies/b1.jpg")
    with default_storage.open(row.reported_selfie) as copy:
        assert copy.read() == b"\xff\xd8first"
    assert default_storage.exists(row.reported_video)


def test_second_report_of_the_same_person_gets_409(alice, bob):
    ActiveRoomFactory(user_1=alice, user_2=bob, ended=True)
    ActiveRoomFactory(user_1=bob, user_2=alice, ended=True)
    client = signed_in(alice)
    assert report(client, bob).status_code == 201

    again = report(client, bob, category="spam")
    assert again.status_code == 409
    assert error_code(again) == "already_reported"
    assert Report.objects.count() == 1


def test_twenty_first_report_in_a_day_gets_429_until_the_oldest_is_a_day_old(alice, bob, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    first = timezone.now() - timedelta(hours=20)
    ReportFactory.create_batch(20, reporter=alice, created_at=first)
    ActiveRoomFactory(user_1=alice, user_2=bob, ended=True)
    client = signed_in(alice)

    refused = report(client, bob)
    assert refused.status_code == 429
    assert error_code(refused) == "rate_limited"
    assert 0 < int(refused["Retry-After"]) <= 4 * 3600 + 1

    time_machine.move_to(first + timedelta(days=1, seconds=1), tick=False)
    assert report(client, bob).status_code == 201


def test_reports_older_than_a_day_do_not_count_towards_the_limit(alice, bob):
    ReportFactory.create_batch(20, reporter=alice, created_at=timezone.now() - timedelta(days=1, minutes=1))
    ActiveRoomFactory(user_1=alice, user_2=bob, ended=True)
    assert report(signed_in(alice), bob).status_code == 201


def test_reporting_yourself_is_invalid(alice):
    response = report(signed_in(alice), alice)
    assert response.status_code == 400
    assert "reported_user_id" in response.json()["error"]["fields"]


def test_unknown_user_is_404_and_bad_input_is_400(alice):
    client = signed_in(alice)
    missing = client.post(
        URL, {"reported_user_id": "00000000-0000-0000-0000-000000000000", "category": "spam"}, format="json"
    )
    assert missing.status_code == 404
    bad = client.post(URL, {"reported_user_id": "nope", "category": "annoying", "text": "x" * 501}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"reported_user_id", "category", "text"}


def test_stranger_without_a_token_gets_401(bob):
    response = api().post(URL, {"reported_user_id": str(bob.pk), "category": "spam"}, format="json")
    assert response.status_code == 401


def test_banned_or_accessless_users_cannot_report(bob):
    banned = UserFactory(ban_status=User.BanStatus.TEMPORARY)
    no_access = UserFactory(access_status=User.AccessStatus.UNPAID)
    ActiveRoomFactory(user_1=banned, user_2=bob, ended=True)
    assert error_code(report(signed_in(banned), bob)) == "banned"
    assert error_code(report(signed_in(no_access), bob)) == "no_access"


def test_reporter_ip_is_taken_through_the_trusted_proxy_setting(alice, bob, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    ActiveRoomFactory(user_1=alice, user_2=bob, ended=True)
    response = report(signed_in(alice), bob, ip="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.9")
    assert response.status_code == 201
    assert Report.objects.get().reporter_ip == "198.51.100.9"


@pytest.mark.django_db
def test_a_report_about_someone_who_deletes_their_account_meanwhile_is_a_404_not_a_500(
    alice, bob, monkeypatch, settings, tmp_path
):
    """submit_report copies the evidence before its transaction (slow I/O); the reported
    person may delete their account in that window. The locked re-read then finds no row:
    404, and no report."""
    settings.MEDIA_ROOT = tmp_path / "media"
    ActiveRoomFactory(user_1=alice, user_2=bob, ended=True)
    copy = evidence.preserve

    def copy_while_the_account_goes(name):
        if User.objects.filter(pk=bob.pk).exists():
            delete_account(User.objects.get(pk=bob.pk), ip=None)
        return copy(name)

    monkeypatch.setattr(evidence, "preserve", copy_while_the_account_goes)
    response = signed_in(alice).post(
        "/api/reports", {"reported_user_id": str(bob.pk), "category": "harassment"}, format="json"
    )
    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"
    assert not Report.objects.exists()
