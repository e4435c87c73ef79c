"""Photos in text calls: POST /api/calls/<room>/photos and GET /api/photos/<id>.

A participant of a live text call sends a photo (≤ 5 MB, re-encoded by the selfie pipeline:
JPEG, no EXIF or GPS, decompression bombs refused); it is stored with its message in one
transaction and reaches the partner only after the image screening passed it (the screening
task runs for real here, with the marker classifier as in test_screening_media.py). Only the
two participants and moderators can fetch it; it is in the owner's export and goes with
retention and with either account."""

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from PIL import Image

from accounts.media import SELFIE_MAX_BYTES
from accounts.services.profile import delete_account
from audit.models import AuditLog
from chat.models import ActiveRoom, CallPhoto, ChatHistory, TextChatMessage
from chat.selectors import messages_since
from chat.services import end_room
from chat.tasks import screen_call_photo
from config.body_limit import body_limit
from moderation.models import Report
from operations.retention import apply_retention
from operations.user_data import user_document
from tests import media_samples as samples
from tests.api_support import signed_in
from tests.factories import ActiveRoomFactory
from tests.screening_support import jpeg_of, live_room, orange_picture, picture
from tests.test_throttling import assert_rate_limited, set_rate

pytestmark = pytest.mark.django_db

STORED_PHOTO = re.compile(r"^callphotos/[0-9a-f]{32}\.jpg$")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path, marker_classifier):
    settings.MEDIA_ROOT = tmp_path / "media"


def _photo_dir() -> Path:
    return Path(default_storage.location) / "callphotos"


def post_photo(user, room, data: bytes, *, client_id: str = "", name="photo.jpg"):
    upload = SimpleUploadedFile(name, data, content_type="image/jpeg")
    body = {"file": upload, **({"client_id": client_id} if client_id else {})}
    return signed_in(user).post(f"/api/calls/{room.pk}/photos", body, format="multipart")


def sent(user, room, data: bytes, **kwargs) -> CallPhoto:
    response = post_photo(user, room, data, **kwargs)
    assert response.status_code == 201, response.content
    return CallPhoto.objects.get(pk=response.json()["photo"])


def assert_refused(response, status: int, code: str):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code and error["message"].endswith("."), error


# --- the upload ---------------------------------------------------------------------------------


def test_a_participant_of_a_live_text_call_sends_a_photo_stored_with_a_withheld_message(alice, bob):
    room = live_room(alice, bob)

    response = post_photo(alice, room, samples.jpeg((640, 480)), client_id="p-1")

    assert response.status_code == 201, response.content
    body = response.json()
    photo = CallPhoto.objects.get(pk=body["photo"])
    assert body["status"] == "pending" and body["url"] == f"/api/photos/{photo.pk}" and body["client_id"] == "p-1"
    assert STORED_PHOTO.match(photo.file) and default_storage.exists(photo.file)
    assert (photo.sender, photo.receiver, photo.room_id) == (alice, bob, room.pk)
    message = photo.message
    assert message.type == "image" and message.url == f"/api/photos/{photo.pk}" and message.deleted
    assert message.receiver == bob


def test_a_resend_with_the_same_client_id_stores_the_photo_once(alice, bob):
    room = live_room(alice, bob)
    first = post_photo(alice, room, samples.jpeg(), client_id="p-1")
    again = post_photo(alice, room, samples.jpeg(), client_id="p-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["photo"] == first.json()["photo"]
    assert CallPhoto.objects.count() == 1
    assert len(list(_photo_dir().iterdir())) == 1  # the resend's re-encoded copy was not kept


def test_stored_photo_is_a_reencoded_jpeg_without_exif_or_gps(alice, bob):
    source = samples.jpeg_with_exif((200, 100), orientation=6)
    assert b"RendezvousTestCam" in source

    photo = sent(alice, live_room(alice, bob), source)

    data = default_storage.open(photo.file).read()
    assert b"RendezvousTestCam" not in data
    with Image.open(io.BytesIO(data)) as stored:
        assert stored.format == "JPEG"
        assert len(stored.getexif()) == 0 and not stored.getexif().get_ifd(0x8825)
        assert stored.size == (100, 200) == (photo.width, photo.height)  # turned upright first


def test_a_large_photo_is_shrunk_to_1600_pixels_on_its_longer_side(alice, bob):
    photo = sent(alice, live_room(alice, bob), samples.png((3200, 1000)), name="big.png")
    assert (photo.width, photo.height) == (1600, 500)


def test_a_photo_over_5_mb_gets_413_with_a_sentence(alice, bob):
    room = live_room(alice, bob)
    response = post_photo(alice, room, samples.jpeg_padded_to(SELFIE_MAX_BYTES + 1))
    assert_refused(response, 413, "photo_too_large")
    assert "5 MB" in response.json()["error"]["message"]
    assert not CallPhoto.objects.exists() and not TextChatMessage.objects.exists()


def test_the_body_limit_lets_a_5_mb_photo_through_and_no_more(settings):
    limit = body_limit("/api/calls/6f1c1d1e-9a43-4d59-9a7e-2f6d0c1b2a3e/photos")
    assert SELFIE_MAX_BYTES < limit <= SELFIE_MAX_BYTES + 64 * 1024
    assert body_limit("/api/calls/x/photos/extra") == settings.REQUEST_BODY_MAX_BYTES


def test_a_decompression_bomb_is_refused_without_storing_anything(alice, bob):
    response = post_photo(alice, live_room(alice, bob), samples.pixel_bomb_png(), name="bomb.png")
    assert_refused(response, 400, "invalid")
    assert "too many pixels" in response.json()["error"]["message"]
    assert not CallPhoto.objects.exists() and not _photo_dir().exists()


def test_something_that_is_not_an_image_is_refused(alice, bob):
    response = post_photo(alice, live_room(alice, bob), samples.html_file(), name="x.jpg")
    assert_refused(response, 400, "invalid")
    assert not CallPhoto.objects.exists()


def test_a_stranger_cannot_send_a_photo_into_someone_elses_call(alice, bob, stranger):
    response = post_photo(stranger, live_room(alice, bob), samples.jpeg())
    assert_refused(response, 403, "not_a_member")
    assert not CallPhoto.objects.exists()


def test_no_photo_in_a_video_call(alice, bob):
    room = ActiveRoomFactory(user_1=alice, user_2=bob, chat_mode="video")
    response = post_photo(alice, room, samples.jpeg())
    assert_refused(response, 409, "not_a_text_call")
    assert not CallPhoto.objects.exists()


def test_no_photo_in_an_ended_call(alice, bob):
    room = ActiveRoomFactory(user_1=alice, user_2=bob, ended=True)
    response = post_photo(alice, room, samples.jpeg())
    assert_refused(response, 410, "room_ended")
    assert not CallPhoto.objects.exists()


def test_a_photo_into_an_overdue_call_ends_it_and_is_refused(alice, bob):
    start = timezone.now() - timedelta(minutes=10)
    room = ActiveRoomFactory(user_1=alice, user_2=bob, started_at=start, ends_at=start + timedelta(minutes=5))
    response = post_photo(alice, room, samples.jpeg())
    assert_refused(response, 410, "room_ended")
    room.refresh_from_db()
    assert room.status == ActiveRoom.Status.ENDED
    assert not CallPhoto.objects.exists()


def test_a_flood_of_photos_is_rate_limited_with_429_and_retry_after(alice, bob, settings):
    set_rate(settings, "call_photos", "2/m")
    room = live_room(alice, bob)
    for client_id in ("a", "b"):
        assert post_photo(alice, room, samples.jpeg(), client_id=client_id).status_code == 201
    response = post_photo(alice, room, samples.jpeg(), client_id="c")
    assert_rate_limited(response, 60)
    assert response.json()["error"]["message"].endswith(".")
    assert CallPhoto.objects.count() == 2


# --- screening before the partner sees it ---------------------------------------------------------


def test_the_partner_receives_nothing_before_screening_and_the_photo_after_it_passes(
    alice, bob, django_capture_on_commit_callbacks, inbox
):
    room = live_room(alice, bob)
    box = inbox(alice, bob)
    with django_capture_on_commit_callbacks(execute=True):
        photo = sent(alice, room, jpeg_of(picture(3)), client_id="p-1")
    assert box.drain().get(bob.pk, []) == []
    assert messages_since(room.pk) == []  # a reconnecting partner is not replayed it either
    assert signed_in(bob).get(photo.url).status_code == 404  # nor can fetch it

    box = inbox(alice, bob)
    with django_capture_on_commit_callbacks(execute=True):
        assert screen_call_photo(str(photo.pk)) == "passed"  # what the screening worker runs

    events = box.drain()
    for user in (alice, bob):
        (event,) = events[user.pk]
        assert event["type"] == "chat.message" and event["kind"] == "image"
        assert event["url"] == photo.url and event["client_id"] == "p-1"
    photo.refresh_from_db()
    assert photo.status == "passed" and photo.nudity_score < 0.5
    assert [m.pk for m in messages_since(room.pk)] == [photo.message_id]
    response = signed_in(bob).get(photo.url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == default_storage.open(photo.file).read()


def test_a_photo_screening_flags_never_reaches_the_partner_and_opens_a_case(
    alice, bob, django_capture_on_commit_callbacks, inbox
):
    room = live_room(alice, bob)
    photo = sent(alice, room, jpeg_of(orange_picture()), client_id="p-1")
    box = inbox(alice, bob)
    with django_capture_on_commit_callbacks(execute=True):
        assert screen_call_photo(str(photo.pk)) == "hidden"

    events = box.drain()
    assert events.get(bob.pk, []) == []
    (refused,) = events[alice.pk]
    assert refused["type"] == "chat.photo_refused" and refused["client_id"] == "p-1"
    assert "not delivered" in refused["message"]
    photo.refresh_from_db()
    assert photo.status == "hidden" and photo.message.deleted
    assert signed_in(bob).get(photo.url).status_code == 404
    case = Report.objects.get(reported=alice)
    assert case.reporter is None and case.category == "nudity" and "text call" in case.text
    (evidence,) = case.messages_snapshot
    assert evidence["media"] == "call_photo" and evidence["message_id"] == photo.message_id
    assert evidence["images"][0].startswith("evidence/")  # the moderators' own copy
    assert AuditLog.objects.filter(event_type="screening.call_photo_hidden", target=alice).exists()
    # The call's history never shows it to the partner either.
    end_room(room.pk, reason="user_ended")
    assert ChatHistory.objects.get(user=bob, room=room).messages == []


def test_the_photo_screening_task_is_registered_and_runs_in_the_screening_workers_queue():
    from config.celery import app

    app.loader.import_default_modules()
    assert app.tasks[screen_call_photo.name].name == "chat.screen_call_photo"
    assert app.amqp.router.route({}, screen_call_photo.name)["queue"].name == "screening"


def test_the_upload_queues_the_screening_only_after_commit(alice, bob, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        sent(alice, live_room(alice, bob), samples.jpeg())
    assert len(callbacks) == 1  # the send_task after commit: a rolled-back upload queues nothing


def test_screening_a_photo_twice_decides_once(alice, bob):
    photo = sent(alice, live_room(alice, bob), jpeg_of(orange_picture()))
    assert screen_call_photo(str(photo.pk)) == "hidden"
    assert screen_call_photo(str(photo.pk)) == "hidden"
    assert Report.objects.filter(reported=alice).count() == 1


# --- who may see it -------------------------------------------------------------------------------


def test_a_third_person_cannot_fetch_a_photo_even_with_its_address(alice, bob, stranger):
    photo = sent(alice, live_room(alice, bob), jpeg_of(picture(4)))
    screen_call_photo(str(photo.pk))
    response = signed_in(stranger).get(photo.url)
    assert_refused(response, 404, "photo_not_found")
    assert signed_in(alice).get(photo.url).status_code == 200
    assert signed_in(bob).get(photo.url).status_code == 200


def test_a_moderator_can_fetch_a_hidden_photo(alice, bob, moderator):
    photo = sent(alice, live_room(alice, bob), jpeg_of(orange_picture()))
    screen_call_photo(str(photo.pk))
    assert signed_in(moderator).get(photo.url).status_code == 200


def test_the_file_is_not_served_under_media(alice, bob, client):
    photo = sent(alice, live_room(alice, bob), jpeg_of(picture(4)))
    assert client.get(f"/media/{photo.file}").status_code == 404


def test_a_photo_is_fetched_with_a_token_only(alice, bob, client):
    photo = sent(alice, live_room(alice, bob), jpeg_of(picture(4)))
    assert client.get(photo.url).status_code == 401


# --- after the call: history, export, retention, deletion ---------------------------------------


def test_the_calls_history_keeps_the_photo_in_order_for_both(alice, bob):
    room = live_room(alice, bob)
    photo = sent(alice, room, jpeg_of(picture(5)))
    screen_call_photo(str(photo.pk))
    end_room(room.pk, reason="user_ended")
    for user in (alice, bob):
        (entry,) = signed_in(user).get("/api/me/history").json()["results"][0]["messages"]
        assert entry["kind"] == "image" and entry["url"] == photo.url


def test_a_photo_passed_after_the_call_ended_joins_both_histories(alice, bob):
    room = live_room(alice, bob)
    photo = sent(alice, room, jpeg_of(picture(5)))
    end_room(room.pk, reason="user_ended")
    assert ChatHistory.objects.get(user=bob, room=room).messages == []
    screen_call_photo(str(photo.pk))
    for user in (alice, bob):
        (entry,) = ChatHistory.objects.get(user=user, room=room).messages
        assert entry["id"] == photo.message_id and entry["url"] == photo.url


def test_the_owners_export_lists_the_photo_with_its_address(alice, bob):
    photo = sent(alice, live_room(alice, bob), jpeg_of(picture(6)))
    (row,) = user_document(alice)["call_photos"]
    assert row["id"] == photo.pk and row["url"] == photo.url and row["file"] == photo.file
    assert user_document(bob)["call_photos"] == []  # not screened yet: not the partner's to have
    screen_call_photo(str(photo.pk))
    assert [r["id"] for r in user_document(bob)["call_photos"]] == [photo.pk]


def test_retention_deletes_the_photo_row_and_file_with_the_calls_messages(
    alice, bob, settings, django_capture_on_commit_callbacks
):
    room = live_room(alice, bob)
    photo = sent(alice, room, jpeg_of(picture(7)))
    screen_call_photo(str(photo.pk))
    end_room(room.pk, reason="user_ended")
    later = timezone.now() + timedelta(days=settings.RETENTION_MESSAGES_DAYS + 1)

    with django_capture_on_commit_callbacks(execute=True):
        apply_retention(now=later)

    assert not CallPhoto.objects.filter(pk=photo.pk).exists()
    assert not default_storage.exists(photo.file)
    assert not TextChatMessage.objects.filter(pk=photo.message_id).exists()  # archived
    assert_refused(signed_in(alice).get(photo.url), 404, "photo_not_found")


def test_retention_keeps_the_photos_of_recent_calls(alice, bob):
    room = live_room(alice, bob)
    photo = sent(alice, room, jpeg_of(picture(7)))
    end_room(room.pk, reason="user_ended")
    apply_retention()
    assert CallPhoto.objects.filter(pk=photo.pk).exists() and default_storage.exists(photo.file)


def test_deleting_an_account_deletes_the_photos_it_sent_and_received(alice, bob, django_capture_on_commit_callbacks):
    room = live_room(alice, bob)
    photo = sent(alice, room, jpeg_of(picture(8)))
    with django_capture_on_commit_callbacks(execute=True):
        delete_account(bob, ip=None)
    assert not CallPhoto.objects.filter(pk=photo.pk).exists()
    assert not default_storage.exists(photo.file)


# --- the database's last word ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "constraint"),
    [
        ({"status": "maybe", "screened_at": timezone.now()}, "chat_call_photos_status"),
        ({"status": "passed", "screened_at": None}, "chat_call_photos_screened_has_time"),
    ],
)
def test_postgresql_refuses_a_bad_call_photo_row(alice, bob, change, constraint):
    photo = sent(alice, live_room(alice, bob), samples.jpeg())
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        CallPhoto.objects.filter(pk=photo.pk).update(**change)


def test_postgresql_refuses_a_photo_sent_to_its_own_sender(alice, bob):
    photo = sent(alice, live_room(alice, bob), samples.jpeg())
    with pytest.raises(IntegrityError, match="chat_call_photos_two_people"), transaction.atomic():
        CallPhoto.objects.filter(pk=photo.pk).update(receiver=alice)


# --- the body cap in front of Django (a live uvicorn) ---------------------------------------------


def _post_head(path: str, length: int) -> str:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer nope\r\n"
        f"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {length}\r\n\r\n"
    )


def test_the_body_cap_lets_a_5_mb_photo_reach_the_api_and_refuses_more_before_reading_it(live_stack):
    from tests.test_request_limits_live import body_of, raw_request

    stack = live_stack("asgi")
    path = "/api/calls/6f1c1d1e-9a43-4d59-9a7e-2f6d0c1b2a3e/photos"
    limit = body_limit(path)

    status, text, _, elapsed = raw_request(stack, _post_head(path, limit + 1))  # no body byte sent
    assert status == 413 and body_of(text)["error"]["max_bytes"] == limit and elapsed < 1.0

    size = SELFIE_MAX_BYTES + 1000  # a 5 MB photo in its multipart envelope
    piece = b"\0" * 65536
    chunks = [piece] * (size // len(piece)) + [b"\0" * (size % len(piece))]
    status, text, sent, _ = raw_request(stack, _post_head(path, size), chunks, timeout=30)
    assert sent == size and status == 401  # read in full, then refused by the API (no token)
