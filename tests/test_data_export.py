"""My data (docs/api.md → My data): POST /api/me/export queues a Celery job that builds the user's
own export (operations.user_data.user_document), stores it under exports/ and emails a link; only
the owner downloads it (404 for anyone else alike), for 24 hours by timestamp (410 after, the
sweep only tidies), one a day (429 with Retry-After, counted in PostgreSQL), audited. The
export holds only what the user may see: a second user's data never leaks into it."""

import json
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from accounts.models import User
from accounts.services.sessions import start_session
from chat.models import Match, MeetAgainAnswer
from chat.selectors import ordered_pair
from moderation.models import AuditLog, DataExport
from operations import exports
from operations.tasks import build_data_export, sweep_data_exports
from tests.api_support import api, signed_in
from tests.concurrency import run_in_parallel
from tests.factories import (
    ActiveRoomFactory,
    AuthSessionFactory,
    ChatHistoryFactory,
    ReportFactory,
    TextChatMessageFactory,
    UserFactory,
    UserLocationFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    return root


def verified(user, email) -> User:
    user.email, user.email_verified = email, True
    user.save(update_fields=["email", "email_verified"])
    return user


def request_and_build(client, django_capture_on_commit_callbacks) -> DataExport:
    """POST /api/me/export, then run the job as the worker would (the queue message went to Redis)."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/me/export")
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "pending" and response.json()["download_url"] is None
    with django_capture_on_commit_callbacks(execute=True):
        assert build_data_export(response.json()["id"]) is True
    return DataExport.objects.get(pk=response.json()["id"])


def download(client, export) -> dict:
    response = client.get(f"/api/me/exports/{export.pk}/download")
    assert response.status_code == 200, getattr(response, "content", response)
    assert response["Content-Type"] == "application/json"
    assert "attachment" in response["Content-Disposition"]
    return json.loads(b"".join(response.streaming_content))


# --- only what the user may see ------------------------------------------------------------------


def test_the_export_holds_exactly_the_owners_rows_and_nothing_of_anyone_else(
    alice, bob, django_capture_on_commit_callbacks
):
    carol = UserFactory(name="Carol")
    verified(alice, "alice@usc.edu")
    verified(bob, "bob-private@usc.edu")
    # Alice's own call with Bob: both sides' messages are hers to see.
    shared = ActiveRoomFactory(user_1=alice, user_2=bob, ended=True)
    TextChatMessageFactory(room=shared, sender=alice, receiver=bob, content="hi from alice")
    TextChatMessageFactory(room=shared, sender=bob, receiver=alice, content="hi from bob")
    ChatHistoryFactory(user=alice, partner=bob, room=shared)
    bob_history = ChatHistoryFactory(user=bob, partner=alice, room=shared, partner_name="Alice-for-bob")
    # Alice reported Bob: the report is hers, its snapshot of Bob is not.
    ReportFactory(
        reporter=alice,
        reported=bob,
        room=shared,
        reported_name="SNAPSHOT-NAME",
        reported_selfie="evidence/SNAPSHOT-SELFIE.jpg",
        reported_video="evidence/SNAPSHOT-VIDEO.mp4",
        messages_snapshot=[{"id": 1, "text": "SNAPSHOT-MESSAGE"}],
    )
    # Bob's life without Alice: a call with Carol, his sessions, location, answers, a match,
    # reports about him and Carol's report about Alice (Alice gets only a count).
    other = ActiveRoomFactory(user_1=bob, user_2=carol, ended=True)
    TextChatMessageFactory(room=other, sender=bob, receiver=carol, content="BOB-TO-CAROL")
    TextChatMessageFactory(room=other, sender=carol, receiver=bob, content="CAROL-TO-BOB")
    AuthSessionFactory(user=bob, ip="10.99.99.99", user_agent="BOB-AGENT")
    UserLocationFactory(user=bob)
    MeetAgainAnswer.objects.create(room=shared, user=bob, answer=True)
    MeetAgainAnswer.objects.create(room=other, user=bob, answer=True)
    low, high = ordered_pair(str(bob.pk), str(carol.pk))
    bob_carol = Match.objects.create(user_low_id=low, user_high_id=high, room=other)
    ReportFactory(reporter=carol, reported=bob, room=other, text="CAROL-ABOUT-BOB")
    ReportFactory(reporter=carol, reported=alice, text="CAROL-ABOUT-ALICE", reporter_ip="10.77.77.77")
    MeetAgainAnswer.objects.create(room=shared, user=alice, answer=False)

    export = request_and_build(signed_in(alice), django_capture_on_commit_callbacks)
    document = download(signed_in(alice), export)
    text = json.dumps(document)

    for secret in (
        "SNAPSHOT-NAME",
        "SNAPSHOT-SELFIE",
        "SNAPSHOT-VIDEO",
        "SNAPSHOT-MESSAGE",
        "BOB-TO-CAROL",
        "CAROL-TO-BOB",
        "BOB-AGENT",
        "10.99.99.99",
        "bob-private@usc.edu",
        "CAROL-ABOUT-BOB",
        "CAROL-ABOUT-ALICE",
        "10.77.77.77",
        "Alice-for-bob",
        str(carol.pk),
        str(other.pk),
        str(bob_carol.pk),
    ):
        assert secret not in text, secret
    assert document["profile"]["id"] == str(alice.pk)
    assert sorted(m["content"] for m in document["messages"]) == ["hi from alice", "hi from bob"]
    assert [r["id"] for r in document["rooms"]] == [str(shared.pk)]
    assert [h["user_id"] for h in document["chat_history"]] == [str(alice.pk)]
    assert bob_history.pk not in [h["id"] for h in document["chat_history"]]
    assert {s["user_id"] for s in document["sessions"]} == {str(alice.pk)}
    assert document["location"] == []
    assert [(a["user_id"], a["answer"]) for a in document["meet_again_answers"]] == [(str(alice.pk), False)]
    assert document["matches"] == []
    (report,) = document["reports_made"]
    assert report["reported_id"] == str(bob.pk) and report["category"] == "harassment"
    assert not {"reported_name", "reported_selfie", "reported_video", "messages_snapshot", "reviewed"} & set(report)
    assert document["reports_received"] == 1
    assert [e["id"] for e in document["data_exports"]] == [str(export.pk)]


# --- the owner's only, for 24 hours, once a day -------------------------------------------------------


def test_only_the_owner_downloads_anyone_else_gets_the_same_404_as_a_made_up_id(
    alice, bob, django_capture_on_commit_callbacks
):
    export = request_and_build(signed_in(alice), django_capture_on_commit_callbacks)
    other = signed_in(bob)
    theirs = other.get(f"/api/me/exports/{export.pk}/download")
    made_up = other.get("/api/me/exports/00000000-0000-4000-8000-000000000000/download")
    assert theirs.status_code == made_up.status_code == 404
    assert theirs.json() == made_up.json()
    assert api().get(f"/api/me/exports/{export.pk}/download").status_code == 401
    assert other.get("/api/me/exports").json() == []
    assert download(signed_in(alice), export)["profile"]["id"] == str(alice.pk)
    export.refresh_from_db()
    assert export.downloads == 1
    events = list(AuditLog.objects.filter(target=alice).values_list("event_type", flat=True).order_by("pk"))
    assert events == ["user.export_requested", "user.exported", "user.export_downloaded"]


def test_downloads_are_audited_once_an_hour_not_once_each(alice, time_machine, django_capture_on_commit_callbacks):
    time_machine.move_to("2026-03-02 12:00:00+00:00", tick=False)
    export = request_and_build(signed_in(alice), django_capture_on_commit_callbacks)
    client = signed_in(alice)
    for _ in range(5):
        download(client, export)
    time_machine.move_to("2026-03-02 12:59:00+00:00", tick=False)
    download(client, export)
    time_machine.move_to("2026-03-02 14:00:00+00:00", tick=False)  # an hour after the last download
    download(client, export)

    export.refresh_from_db()
    assert export.downloads == 7
    rows = AuditLog.objects.filter(event_type="user.export_downloaded").order_by("pk")
    assert [row.details["downloads"] for row in rows] == [1, 7]


def test_the_export_expires_24_hours_after_it_was_ready_by_timestamp_even_with_its_file_still_there(
    alice, time_machine, django_capture_on_commit_callbacks
):
    export = request_and_build(signed_in(alice), django_capture_on_commit_callbacks)
    client = signed_in(alice)
    time_machine.move_to(export.ready_at + timedelta(hours=24) - timedelta(seconds=1), tick=False)
    assert client.get(f"/api/me/exports/{export.pk}/download").status_code == 200
    time_machine.move_to(export.ready_at + timedelta(hours=24), tick=False)
    assert default_storage.exists(export.file)  # no sweep ran: the timestamp decides
    expired = client.get(f"/api/me/exports/{export.pk}/download")
    assert expired.status_code == 410 and expired.json()["error"]["code"] == "export_expired"
    assert client.get("/api/me/exports").json()[0]["download_url"] is None
    sweep_data_exports()
    assert not default_storage.exists(export.file)
    assert client.get(f"/api/me/exports/{export.pk}/download").status_code == 410


def test_one_export_a_day_the_second_is_429_with_retry_after_until_the_first_is_a_day_old(
    alice, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to("2026-12-01T12:00:00Z", tick=False)
    first = request_and_build(signed_in(alice), django_capture_on_commit_callbacks)
    client = signed_in(alice)
    time_machine.move_to("2026-12-01T18:00:00Z", tick=False)
    second = client.post("/api/me/export")
    assert second.status_code == 429 and second.json()["error"]["code"] == "rate_limited"
    assert second["Retry-After"] == str(18 * 3600) == str(second.json()["error"]["retry_after"])
    time_machine.move_to("2026-12-02T12:00:01Z", tick=False)
    assert signed_in(alice).post("/api/me/export").status_code == 202
    assert DataExport.objects.filter(user=alice).count() == 2
    assert first.pk in DataExport.objects.values_list("pk", flat=True)


def test_a_failed_export_does_not_count_against_the_day(alice, monkeypatch):
    export = exports.request_export(alice)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(exports, "export_user", broken)
    assert exports.build_export(export.pk) is False
    export.refresh_from_db()
    assert export.status == DataExport.Status.FAILED
    assert exports.request_export(alice).status == DataExport.Status.PENDING


@pytest.mark.django_db(transaction=True)
def test_parallel_requests_make_one_export(time_machine):
    user = UserFactory()
    token = start_session(user, ip="127.0.0.1")
    clients = [api(token) for _ in range(4)]

    results = run_in_parallel(4, lambda i: clients[i].post("/api/me/export").status_code)

    assert sorted(results) == [202, 429, 429, 429], results
    assert DataExport.objects.filter(user=user).count() == 1


# --- the link ------------------------------------------------------------------------------------


def test_the_link_is_emailed_to_a_verified_address_and_is_the_settings_page(
    alice, bob, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://rendezvous.example.edu"
    verified(alice, "alice@usc.edu")
    export = request_and_build(signed_in(alice), django_capture_on_commit_callbacks)
    (message,) = mail.outbox
    assert message.to == ["alice@usc.edu"]
    assert f"https://rendezvous.example.edu/settings?export={export.pk}#my-data" in message.body
    request_and_build(signed_in(bob), django_capture_on_commit_callbacks)  # no verified address: no email
    assert len(mail.outbox) == 1
    listed = signed_in(bob).get("/api/me/exports").json()
    assert listed[0]["download_url"].endswith("/download")


def test_the_file_is_not_served_as_media_and_is_stored_under_exports(alice, client, django_capture_on_commit_callbacks):
    export = request_and_build(signed_in(alice), django_capture_on_commit_callbacks)
    assert export.file.startswith("exports/") and export.file.endswith(".json")
    assert client.get(f"/media/{export.file}").status_code == 404


def test_the_sweep_builds_an_export_whose_queue_message_was_lost(alice, time_machine):
    time_machine.move_to("2026-12-01T12:00:00Z", tick=False)
    export = exports.request_export(alice)  # outside on-commit capture: the job never ran
    time_machine.move_to("2026-12-01T12:02:00Z", tick=False)
    assert sweep_data_exports()["built"] == 1
    export.refresh_from_db()
    assert export.status == DataExport.Status.READY and default_storage.exists(export.file)
    assert exports.build_export(export.pk) is False  # twice is a no-op


def test_deleting_the_account_removes_its_export_files_on_commit(
    alice, bob, media_root, django_capture_on_commit_callbacks
):
    from accounts.services.profile import delete_account

    export = request_and_build(signed_in(alice), django_capture_on_commit_callbacks)
    others = request_and_build(signed_in(bob), django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        delete_account(User.objects.get(pk=alice.pk), ip=None)
        assert default_storage.exists(export.file)  # not before commit
    for callback in callbacks:
        callback()
    assert not DataExport.objects.filter(user_id=alice.pk).exists()
    assert not default_storage.exists(export.file)
    assert default_storage.exists(others.file)  # someone else's is kept


def test_a_failed_deletion_keeps_the_export_file(alice, media_root, django_capture_on_commit_callbacks, monkeypatch):
    from accounts.services import profile

    export = request_and_build(signed_in(alice), django_capture_on_commit_callbacks)
    monkeypatch.setattr(profile, "record_audit", lambda *a, **k: 1 / 0)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ZeroDivisionError):
        profile.delete_account(User.objects.get(pk=alice.pk), ip=None)
    assert DataExport.objects.filter(pk=export.pk).exists() and default_storage.exists(export.file)


def test_the_sweep_removes_an_export_file_no_row_names_after_an_hour(media_root):
    name = default_storage.save("exports/orphan.json", ContentFile(b"{}"))
    assert sweep_data_exports()["files_removed"] == 0  # a fresh file: maybe a build about to name it
    two_hours_ago = time.time() - 7200
    os.utime(media_root / name, (two_hours_ago, two_hours_ago))
    assert sweep_data_exports()["files_removed"] == 1
    assert not default_storage.exists(name)


def test_the_export_holds_my_strikes_and_appeals_without_the_moderator(alice, bob, moderator):
    """A strike is the owner's data (the decision, its reason, its dates), and so is an
    appeal of it; who decided (a moderator) and the case (which names the reporters) are not."""
    from django.utils import timezone

    from moderation.models import Appeal
    from moderation.strikes import record_strike
    from operations.user_data import user_document

    strike = record_strike(alice, action="warning", reason="REASON-FOR-ALICE", moderator=moderator, now=timezone.now())
    Appeal.objects.create(strike=strike, text="APPEAL-TEXT", decided_by=moderator)
    record_strike(bob, action="warning", reason="REASON-FOR-BOB", moderator=moderator, now=timezone.now())

    document = user_document(alice)
    assert [row["reason"] for row in document["strikes"]] == ["REASON-FOR-ALICE"]
    assert [row["text"] for row in document["appeals"]] == ["APPEAL-TEXT"]
    assert "created_by_id" not in document["strikes"][0] and "decided_by_id" not in document["appeals"][0]
    assert str(moderator.pk) not in json.dumps(document, default=str)
