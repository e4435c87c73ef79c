"""Image screening: perceptual hashes against banned people's (ban evasion holds the account)
and the nudity classifier (hidden pending review above the threshold; restore or remove)."""

import socket
import time

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User
from accounts.services.profile import delete_account, remove_media, set_selfie
from audit.models import AuditLog
from chat import services as chat_services
from chat.errors import NotAvailable
from chat.reel import list_reel
from moderation.models import Report, Strike
from screening import classifier, decisions
from screening.errors import AccountHeld
from screening.media import scan_media
from screening.models import AccountHold, MediaScan
from tests.chat_support import go_online
from tests.factories import UserFactory
from tests.screening_support import jpeg_of, near_duplicate, orange_picture, picture

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path, marker_classifier):
    settings.MEDIA_ROOT = tmp_path / "media"


def upload_selfie(user, image) -> User:
    user = set_selfie(user, SimpleUploadedFile("me.jpg", jpeg_of(image), content_type="image/jpeg"))
    scan_media(user.pk, "selfie", user.selfie.name)  # what the screening worker runs after commit
    user.refresh_from_db()
    return user


@pytest.fixture
def banned_face():
    """A banned person whose selfie was scanned before the ban."""
    face = picture(1)
    mallory = upload_selfie(UserFactory(name="Mallory"), face)
    User.objects.filter(pk=mallory.pk).update(ban_status=User.BanStatus.PERMANENT)
    mallory.refresh_from_db()
    return mallory, face


def test_near_duplicate_selfie_of_a_banned_person_holds_the_account(banned_face):
    mallory, face = banned_face
    newcomer = upload_selfie(UserFactory(name="New"), near_duplicate(face))
    hold = AccountHold.objects.get(user=newcomer, released_at=None)
    assert hold.matched_scan.user_id == mallory.pk and hold.distance <= 8
    case = Report.objects.get(reported=newcomer)
    assert case.reporter is None and case.category == "other"
    (evidence,) = case.messages_snapshot
    assert evidence["screening"] == "ban_evasion" and len(evidence["images"]) == 2  # side by side
    assert all(default_storage.exists(name) for name in evidence["images"])
    assert AuditLog.objects.filter(event_type="screening.account_held", target=newcomer).exists()


def test_unrelated_selfie_is_not_held(banned_face):
    other = upload_selfie(UserFactory(), picture(2))
    assert not AccountHold.objects.filter(user=other).exists()
    assert not Report.objects.filter(reported=other).exists()


def test_a_held_account_gets_no_reel_and_no_invites(banned_face):
    _, face = banned_face
    newcomer = upload_selfie(UserFactory(), near_duplicate(face))
    friend = UserFactory()
    go_online(newcomer, friend)
    assert list_reel(newcomer).results == []  # sees nobody
    assert str(newcomer.pk) not in {card["id"] for card in list_reel(friend).results}  # seen by nobody
    with pytest.raises(AccountHeld):
        chat_services.send_invite(newcomer, to=friend.pk, mode="text", seconds=60)
    with pytest.raises(NotAvailable):
        chat_services.send_invite(friend, to=newcomer.pk, mode="text", seconds=60)


def test_released_hold_gives_the_reel_back(banned_face, moderator):
    _, face = banned_face
    newcomer = upload_selfie(UserFactory(), near_duplicate(face))
    friend = UserFactory()
    go_online(newcomer, friend)
    hold = AccountHold.objects.get(user=newcomer)
    decisions.release_hold(hold.pk, moderator=moderator)
    assert [card["id"] for card in list_reel(newcomer).results] == [str(friend.pk)]
    with pytest.raises(decisions.AlreadyDecided):
        decisions.release_hold(hold.pk, moderator=moderator)


def test_banned_persons_hashes_outlive_their_deleted_account(banned_face):
    mallory, face = banned_face
    delete_account(mallory, ip=None)
    kept = MediaScan.objects.get(kept_for_ban=True)
    assert kept.user_id is None and kept.phash is not None
    newcomer = upload_selfie(UserFactory(), near_duplicate(face))
    assert AccountHold.objects.filter(user=newcomer).exists()


def test_banned_persons_hashes_outlive_their_removed_selfie(banned_face):
    mallory, face = banned_face
    remove_media(mallory, "selfie")
    assert MediaScan.objects.get(user=mallory).kept_for_ban
    newcomer = upload_selfie(UserFactory(), near_duplicate(face))
    assert AccountHold.objects.filter(user=newcomer).exists()


def test_anyone_elses_old_hashes_go_with_their_old_selfie(alice):
    alice = upload_selfie(alice, picture(3))
    first = alice.selfie.name
    alice = upload_selfie(alice, picture(4))
    assert not MediaScan.objects.filter(file=first).exists()
    assert MediaScan.objects.filter(user=alice).count() == 1


def test_a_redelivered_scan_changes_nothing(banned_face):
    _, face = banned_face
    newcomer = upload_selfie(UserFactory(), near_duplicate(face))
    scan_media(newcomer.pk, "selfie", newcomer.selfie.name)
    assert MediaScan.objects.filter(user=newcomer).count() == 1
    assert Report.objects.filter(reported=newcomer).count() == 1


# --- nudity ---------------------------------------------------------------------------------


def test_image_above_the_threshold_is_hidden_at_once_and_a_case_opens(alice):
    alice = upload_selfie(alice, orange_picture())
    assert not alice.selfie  # others no longer see it
    scan = MediaScan.objects.get(user=alice)
    assert scan.status == "hidden" and scan.nudity_score >= 0.6
    assert default_storage.exists(scan.file)  # kept for the moderator
    case = Report.objects.get(reported=alice)
    assert case.category == "nudity" and case.reporter is None
    assert AuditLog.objects.filter(event_type="screening.media_hidden", target=alice).exists()


def test_image_below_the_threshold_passes(alice):
    alice = upload_selfie(alice, picture(5))
    assert alice.selfie
    assert MediaScan.objects.get(user=alice).status == "passed"
    assert not Report.objects.exists()


def test_threshold_is_a_setting(alice, settings):
    settings.SCREENING_NUDITY_THRESHOLD = 0.99
    alice = upload_selfie(alice, orange_picture())
    assert alice.selfie and MediaScan.objects.get(user=alice).status == "passed"


def test_moderator_restores_hidden_media(alice, moderator):
    alice = upload_selfie(alice, orange_picture())
    scan = MediaScan.objects.get(user=alice)
    decisions.restore_media(scan.pk, moderator=moderator)
    alice.refresh_from_db()
    assert alice.selfie.name == scan.file
    assert AuditLog.objects.filter(event_type="screening.media_restored", actor=moderator).exists()
    with pytest.raises(decisions.AlreadyDecided):
        decisions.restore_media(scan.pk, moderator=moderator)


def test_moderator_removes_hidden_media_with_a_strike(alice, moderator, django_capture_on_commit_callbacks):
    alice = upload_selfie(alice, orange_picture())
    scan = MediaScan.objects.get(user=alice)
    with django_capture_on_commit_callbacks(execute=True):
        decisions.remove_media(scan.pk, moderator=moderator)
    scan.refresh_from_db()
    assert scan.status == "removed" and not default_storage.exists(scan.file)
    strike = Strike.objects.get(user=alice)  # a strike of the moderation queue (moderation.strikes)
    assert (strike.action, strike.created_by) == ("warning", moderator) and "nudity" in strike.reason
    assert AuditLog.objects.get(event_type="strike.created", target=alice).actor == moderator


def test_intro_video_keyframes_are_scanned(alice):
    from accounts.services.profile import set_video
    from tests.media_samples import mp4

    alice = set_video(alice, SimpleUploadedFile("intro.mp4", mp4(seconds=6), content_type="video/mp4"))
    scans = scan_media(alice.pk, "video", alice.video.name)
    assert len(scans) == 3 and all(s.phash is not None for s in scans)


# --- NudeNet itself -----------------------------------------------------------------------------


def test_nudenet_runs_offline_and_passes_an_ordinary_picture(monkeypatch):
    """The real classifier: its ONNX model ships in the wheel; any network use fails the test."""

    def no_network(*args, **kwargs):
        raise AssertionError("the classifier tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    model = classifier.NudeNetClassifier()
    started = time.perf_counter()
    score = model.score(jpeg_of(picture(6)))
    assert time.perf_counter() - started < 10
    assert score < 0.6


def test_my_export_lists_my_hashes_and_says_what_a_hash_is(alice):
    from operations.user_data import user_document

    alice = upload_selfie(alice, picture(7))
    document = user_document(alice)["screening"]
    (scan,) = document["media_scans"]
    assert scan["phash"] is not None and scan["file"] == alice.selfie.name
    assert "cannot be rebuilt" in document["note"] and "banned" in document["note"]
