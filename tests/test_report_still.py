"""POST /api/reports/<id>/still: the still of a partner's video the reporter's client captured,
kept as staff-only evidence without metadata; only the reporter, soon after filing, once."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from audit.models import AuditLog
from tests.api_support import signed_in
from tests.factories import ActiveRoomFactory, ReportFactory
from tests.media_samples import jpeg_with_exif

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def still():
    return SimpleUploadedFile("still.jpg", jpeg_with_exif(), content_type="image/jpeg")


@pytest.fixture
def report(alice, bob):
    room = ActiveRoomFactory(user_1=alice, user_2=bob, ended=True)
    return ReportFactory(reporter=alice, reported=bob, room=room, category="nudity")


def test_reporter_attaches_a_still_without_metadata(alice, report):
    response = signed_in(alice).post(f"/api/reports/{report.pk}/still", {"file": still()}, format="multipart")
    assert response.status_code == 200, response.content
    report.refresh_from_db()
    assert report.video_still.startswith("evidence/stills/")
    with default_storage.open(report.video_still) as f:
        assert not Image.open(f).getexif()  # no camera, GPS or software tags
    assert AuditLog.objects.filter(event_type="report.still_attached", actor=alice).exists()


def test_a_second_still_gets_409(alice, report):
    client = signed_in(alice)
    client.post(f"/api/reports/{report.pk}/still", {"file": still()}, format="multipart")
    response = client.post(f"/api/reports/{report.pk}/still", {"file": still()}, format="multipart")
    assert response.status_code == 409 and response.json()["error"]["code"] == "still_attached"


def test_stranger_cannot_attach_to_someone_elses_report(stranger, report):
    response = signed_in(stranger).post(f"/api/reports/{report.pk}/still", {"file": still()}, format="multipart")
    assert response.status_code in (403, 404)
    report.refresh_from_db()
    assert not report.video_still


def test_an_old_report_takes_no_still(alice, report):
    type(report).objects.filter(pk=report.pk).update(created_at=report.created_at - timedelta(minutes=6))
    response = signed_in(alice).post(f"/api/reports/{report.pk}/still", {"file": still()}, format="multipart")
    assert response.status_code == 404


def test_not_an_image_is_refused_with_a_sentence(alice, report):
    bad = SimpleUploadedFile("still.jpg", b"not an image", content_type="image/jpeg")
    response = signed_in(alice).post(f"/api/reports/{report.pk}/still", {"file": bad}, format="multipart")
    assert response.status_code == 400 and "image" in response.json()["error"]["message"]
