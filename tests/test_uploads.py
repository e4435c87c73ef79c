"""PUT/DELETE /api/me/selfie and /api/me/video, and serving the stored files.

Uploads are judged by their content, never by the client's file name or content type: a selfie
is re-encoded as a JPEG of at most 800×800 without EXIF; a video must be MP4 or WebM, 5–60 s,
at most 50 MB, and is re-muxed without metadata (its streams kept packet for packet).
Every sample is a real file made by tests/media_samples.py."""

import io
import re
from pathlib import Path

import av
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

from accounts.media import SELFIE_MAX_BYTES, VIDEO_MAX_BYTES
from accounts.services.sessions import start_session
from tests import media_samples as samples
from tests.api_support import signed_in as client_for

STORED_SELFIE = re.compile(r"^selfies/[0-9a-f]{32}\.jpg$")
STORED_VIDEO = re.compile(r"^videos/[0-9a-f]{32}\.(mp4|webm)$")


@pytest.fixture
def media_root(settings, tmp_path):
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    return root


def put_file(client, kind: str, data: bytes, *, name: str, content_type: str):
    upload = SimpleUploadedFile(name, data, content_type=content_type)
    return client.put(f"/api/me/{kind}", {"file": upload}, format="multipart")


def stored_files(media_root: Path, folder: str) -> list[Path]:
    directory = media_root / folder
    return sorted(directory.iterdir()) if directory.exists() else []


def open_stored(media_root: Path, name: str) -> Image.Image:
    return Image.open(media_root / name)


def assert_refused(response, field: str):
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"], error


# --- Selfie: re-encoding ----------------------------------------------------------------------


def test_selfie_is_stored_as_jpeg_without_any_exif(alice, media_root):
    source = samples.jpeg_with_exif((200, 100), orientation=6)
    assert b"RendezvousTestCam" in source  # the sample really carries camera metadata

    response = put_file(client_for(alice), "selfie", source, name="me.jpg", content_type="image/jpeg")

    assert response.status_code == 200, response.content
    alice.refresh_from_db()
    assert STORED_SELFIE.match(alice.selfie.name)
    assert response.json()["selfie_url"] == f"/media/{alice.selfie.name}"
    with open_stored(media_root, alice.selfie.name) as stored:
        assert stored.format == "JPEG"
        assert len(stored.getexif()) == 0
        assert "exif" not in stored.info
    raw = (media_root / alice.selfie.name).read_bytes()
    assert b"RendezvousTestCam" not in raw
    assert b"Exif\0\0" not in raw


@pytest.mark.parametrize("orientation", [1, 3, 8])
def test_selfie_exif_is_stripped_whatever_the_orientation(alice, media_root, orientation):
    source = samples.jpeg_with_exif((200, 100), orientation=orientation)

    response = put_file(client_for(alice), "selfie", source, name="me.jpg", content_type="image/jpeg")

    assert response.status_code == 200, response.content
    alice.refresh_from_db()
    with open_stored(media_root, alice.selfie.name) as stored:
        assert len(stored.getexif()) == 0
        assert stored.size == ((100, 200) if orientation == 8 else (200, 100))
    assert b"RendezvousTestCam" not in (media_root / alice.selfie.name).read_bytes()


@pytest.mark.parametrize(
    ("make", "name"),
    [(samples.jpeg_with_comment, "me.jpg"), (samples.gif_with_comment, "me.gif")],
    ids=["jpeg-com-segment", "gif-comment"],
)
def test_selfie_keeps_no_metadata_not_even_a_comment(alice, media_root, make, name):
    secret = b"Taken at 3015 Figueroa St, room 214, by Alice"

    response = put_file(client_for(alice), "selfie", make(secret), name=name, content_type="image/jpeg")

    assert response.status_code == 200, response.content
    alice.refresh_from_db()
    with open_stored(media_root, alice.selfie.name) as stored:
        assert "comment" not in stored.info
    assert b"Figueroa" not in (media_root / alice.selfie.name).read_bytes()


def test_selfie_exif_orientation_is_applied_before_stripping(alice, media_root):
    # 200×100, red left half, blue right half; Orientation 6 means "rotate 90° clockwise to view".
    source = samples.jpeg_with_exif((200, 100), orientation=6)

    response = put_file(client_for(alice), "selfie", source, name="me.jpg", content_type="image/jpeg")

    assert response.status_code == 200, response.content
    alice.refresh_from_db()
    with open_stored(media_root, alice.selfie.name) as stored:
        assert stored.size == (100, 200)  # portrait now
        top, bottom = stored.convert("RGB").getpixel((50, 20)), stored.convert("RGB").getpixel((50, 180))
    assert top[0] > 150 and top[2] < 80  # red went to the top
    assert bottom[2] > 150 and bottom[0] < 80  # blue to the bottom


@pytest.mark.parametrize(
    ("source_size", "stored_size"),
    [((2000, 1000), (800, 400)), ((1000, 2000), (400, 800)), ((900, 900), (800, 800))],
)
def test_selfie_is_shrunk_to_fit_800_by_800_keeping_its_aspect_ratio(alice, media_root, source_size, stored_size):
    response = put_file(client_for(alice), "selfie", samples.png(source_size), name="big.png", content_type="image/png")

    assert response.status_code == 200, response.content
    alice.refresh_from_db()
    with open_stored(media_root, alice.selfie.name) as stored:
        assert stored.format == "JPEG"
        assert stored.size == stored_size


def test_small_selfie_is_not_enlarged(alice, media_root):
    response = put_file(client_for(alice), "selfie", samples.jpeg((120, 90)), name="a.jpg", content_type="image/jpeg")

    assert response.status_code == 200
    alice.refresh_from_db()
    with open_stored(media_root, alice.selfie.name) as stored:
        assert stored.size == (120, 90)


def test_gif_selfie_is_accepted_and_stored_as_jpeg(alice, media_root):
    response = put_file(client_for(alice), "selfie", samples.gif((64, 48)), name="a.gif", content_type="image/gif")

    assert response.status_code == 200, response.content
    alice.refresh_from_db()
    assert STORED_SELFIE.match(alice.selfie.name)
    with open_stored(media_root, alice.selfie.name) as stored:
        assert (stored.format, stored.size) == ("JPEG", (64, 48))


# --- Selfie: the client's name and type are ignored ------------------------------------------


def test_selfie_content_type_and_file_name_from_the_client_are_ignored(alice, media_root):
    response = put_file(client_for(alice), "selfie", samples.jpeg((120, 90)), name="x.exe", content_type="text/html")

    assert response.status_code == 200, response.content
    alice.refresh_from_db()
    assert STORED_SELFIE.match(alice.selfie.name)
    assert [p.name for p in stored_files(media_root, "selfies")] == [Path(alice.selfie.name).name]


def test_jpeg_declared_as_png_is_accepted_as_what_it_is(alice, media_root):
    response = put_file(
        client_for(alice), "selfie", samples.jpeg((120, 90)), name="photo.png", content_type="image/png"
    )

    assert response.status_code == 200, response.content
    alice.refresh_from_db()
    assert alice.selfie.name.endswith(".jpg")
    with open_stored(media_root, alice.selfie.name) as stored:
        assert stored.format == "JPEG"


@pytest.mark.parametrize(
    ("make", "name", "content_type"),
    [
        (samples.html_file, "x.jpg", "image/jpeg"),
        (samples.text_file, "photo.jpg", "image/jpeg"),
        (samples.truncated_jpeg, "photo.jpg", "image/jpeg"),
        (samples.random_bytes, "photo.png", "image/png"),
        (samples.mp4, "photo.jpg", "image/jpeg"),
        (samples.svg_file, "photo.svg", "image/svg+xml"),
    ],
    ids=["html-named-jpg", "text-renamed-jpg", "truncated-jpeg", "random-bytes", "video-named-jpg", "svg"],
)
def test_undecodable_selfie_is_refused_and_nothing_is_stored(alice, media_root, make, name, content_type):
    response = put_file(client_for(alice), "selfie", make(), name=name, content_type=content_type)

    assert_refused(response, "selfie")
    alice.refresh_from_db()
    assert not alice.selfie
    assert stored_files(media_root, "selfies") == []


def test_selfie_with_too_many_pixels_is_refused_before_decoding(alice, media_root):
    source = samples.pixel_bomb_png((9000, 5000))
    assert len(source) < 100_000

    response = put_file(client_for(alice), "selfie", source, name="a.png", content_type="image/png")

    assert_refused(response, "selfie")
    assert stored_files(media_root, "selfies") == []


def test_selfie_is_re_encoded_so_data_appended_to_the_image_is_not_stored(alice, media_root):
    response = put_file(
        client_for(alice), "selfie", samples.jpeg_html_polyglot(), name="a.jpg", content_type="image/jpeg"
    )

    assert response.status_code == 200, response.content
    alice.refresh_from_db()
    assert b"<script" not in (media_root / alice.selfie.name).read_bytes()


# --- Selfie: size limit -----------------------------------------------------------------------


def test_selfie_of_exactly_5_mb_is_accepted(alice, media_root):
    source = samples.jpeg_padded_to(SELFIE_MAX_BYTES)

    response = put_file(client_for(alice), "selfie", source, name="a.jpg", content_type="image/jpeg")

    assert response.status_code == 200, response.content


def test_selfie_over_5_mb_is_refused(alice, media_root):
    # The same decodable JPEG as above, one byte longer: only the size differs.
    source = samples.jpeg_padded_to(SELFIE_MAX_BYTES + 1)

    response = put_file(client_for(alice), "selfie", source, name="a.jpg", content_type="image/jpeg")

    assert_refused(response, "selfie")
    assert "5 MB" in response.json()["error"]["fields"]["selfie"][0]
    alice.refresh_from_db()
    assert not alice.selfie
    assert stored_files(media_root, "selfies") == []


def test_decodable_noise_png_over_5_mb_is_refused(alice, media_root):
    source = samples.noise_png(SELFIE_MAX_BYTES + 1)

    response = put_file(client_for(alice), "selfie", source, name="a.png", content_type="image/png")

    assert_refused(response, "selfie")
    assert stored_files(media_root, "selfies") == []


def test_empty_or_missing_selfie_file_is_refused(alice, media_root):
    client = client_for(alice)

    empty = put_file(client, "selfie", b"", name="a.jpg", content_type="image/jpeg")
    missing = client.put("/api/me/selfie", {}, format="multipart")

    assert_refused(empty, "file")
    assert_refused(missing, "file")
    assert stored_files(media_root, "selfies") == []


# --- Selfie: replacing and removing -----------------------------------------------------------


def test_replacing_a_selfie_deletes_the_old_file_after_commit(alice, media_root, django_capture_on_commit_callbacks):
    client = client_for(alice)
    put_file(client, "selfie", samples.jpeg((120, 90)), name="a.jpg", content_type="image/jpeg")
    alice.refresh_from_db()
    old = media_root / alice.selfie.name
    assert old.exists()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = put_file(client, "selfie", samples.gif(), name="b.gif", content_type="image/gif")
    assert response.status_code == 200
    assert old.exists()  # deletion waits for the commit
    for callback in callbacks:
        callback()

    alice.refresh_from_db()
    new = media_root / alice.selfie.name
    assert new != old
    assert not old.exists()
    assert new.exists()
    assert stored_files(media_root, "selfies") == [new]


def test_refused_replacement_keeps_the_current_selfie(alice, media_root, django_capture_on_commit_callbacks):
    client = client_for(alice)
    put_file(client, "selfie", samples.jpeg(), name="a.jpg", content_type="image/jpeg")
    alice.refresh_from_db()
    current = alice.selfie.name

    with django_capture_on_commit_callbacks(execute=True):
        response = put_file(client, "selfie", samples.html_file(), name="b.jpg", content_type="image/jpeg")

    assert_refused(response, "selfie")
    alice.refresh_from_db()
    assert alice.selfie.name == current
    assert (media_root / current).exists()


def test_delete_selfie_clears_it_and_deletes_the_file(alice, media_root, django_capture_on_commit_callbacks):
    client = client_for(alice)
    put_file(client, "selfie", samples.jpeg(), name="a.jpg", content_type="image/jpeg")
    alice.refresh_from_db()
    stored = media_root / alice.selfie.name

    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete("/api/me/selfie")

    assert response.status_code == 200
    assert response.json()["selfie_url"] is None
    alice.refresh_from_db()
    assert not alice.selfie
    assert not stored.exists()
    assert APIClient().get(f"/media/selfies/{stored.name}").status_code == 404


def test_deleting_a_selfie_i_do_not_have_is_harmless(alice, media_root, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).delete("/api/me/selfie")

    assert response.status_code == 200
    assert response.json()["selfie_url"] is None


def test_deleting_my_selfie_does_not_touch_another_users_selfie(
    alice, stranger, media_root, django_capture_on_commit_callbacks
):
    put_file(client_for(alice), "selfie", samples.jpeg(), name="a.jpg", content_type="image/jpeg")
    put_file(client_for(stranger), "selfie", samples.jpeg(), name="s.jpg", content_type="image/jpeg")
    alice.refresh_from_db()
    alices_file = media_root / alice.selfie.name

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(stranger).delete("/api/me/selfie")

    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.selfie
    assert alices_file.exists()
    stranger.refresh_from_db()
    assert not stranger.selfie


# --- Video ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "name", "extension"),
    [
        (lambda: samples.mp4(6), "intro.mp4", "mp4"),
        (lambda: samples.video(container="mp4", codec="libx264", seconds=6), "intro.mp4", "mp4"),
        (lambda: samples.webm(6), "intro.webm", "webm"),
        (lambda: samples.live_webm(6), "recording.webm", "webm"),  # no duration in the header
        (lambda: samples.live_webm(5, fps=30), "recording.webm", "webm"),
        (lambda: samples.mp4(5), "intro.mp4", "mp4"),
        (lambda: samples.mp4(60, fps=1), "intro.mp4", "mp4"),
        (lambda: samples.webm(60, fps=1), "intro.webm", "webm"),
        (lambda: samples.webm(6), "intro.mp4", "webm"),  # the extension comes from the content
    ],
    ids=[
        "mp4-6s",
        "h264-6s",
        "webm-6s",
        "live-webm-6s",
        "live-webm-5s-30fps",
        "mp4-5s",
        "mp4-60s",
        "webm-60s",
        "webm-named-mp4",
    ],
)
def test_mp4_or_webm_of_5_to_60_seconds_is_stored_with_its_streams_as_sent(alice, media_root, make, name, extension):
    source = make()

    response = put_file(client_for(alice), "video", source, name=name, content_type="application/octet-stream")

    assert response.status_code == 200, response.content
    alice.refresh_from_db()
    assert STORED_VIDEO.match(alice.video.name)
    assert alice.video.name.endswith(f".{extension}")
    assert response.json()["video_url"] == f"/media/{alice.video.name}"
    assert packets((media_root / alice.video.name).read_bytes()) == packets(source)  # re-muxed, not re-encoded


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: samples.mp4(3), "short.mp4"),
        (lambda: samples.webm(3), "short.webm"),
        (lambda: samples.mp4(61, fps=1), "long.mp4"),
        (lambda: samples.webm(61, fps=1), "long.webm"),
        (lambda: samples.live_webm(61, fps=1), "long-live.webm"),
        (lambda: samples.live_webm(3), "short-live.webm"),
        (samples.html_file, "intro.mp4"),
        (samples.random_bytes, "intro.webm"),
        (samples.text_file, "intro.mp4"),
        (samples.jpeg, "intro.mp4"),
        (samples.audio_only_mp4, "intro.mp4"),
        (samples.mkv, "intro.webm"),
        (lambda: samples.mp4(6)[:1500], "truncated.mp4"),
    ],
    ids=[
        "mp4-3s",
        "webm-3s",
        "mp4-61s",
        "webm-61s",
        "live-webm-61s",
        "live-webm-3s",
        "html",
        "random-bytes",
        "text",
        "jpeg",
        "audio-only",
        "matroska-not-webm",
        "truncated-mp4",
    ],
)
def test_video_that_is_not_an_mp4_or_webm_of_5_to_60_seconds_is_refused(alice, media_root, make, name):
    response = put_file(client_for(alice), "video", make(), name=name, content_type="video/mp4")

    assert_refused(response, "video")
    alice.refresh_from_db()
    assert not alice.video
    assert stored_files(media_root, "videos") == []


def packets(data: bytes) -> dict:
    """Each stream's type, codec and packets (bytes and timestamps): what re-muxing must keep."""
    with av.open(io.BytesIO(data)) as container:
        streams = {s.index: (s.type, s.codec_context.name) for s in container.streams}
        found = {index: [] for index in streams}
        for packet in container.demux():
            if packet.dts is not None:
                found[packet.stream.index].append((bytes(packet), packet.pts, packet.is_keyframe))
    return {streams[index]: found[index] for index in streams}


@pytest.mark.parametrize("make", [samples.mp4_with_metadata, samples.webm_with_metadata], ids=["mp4", "webm"])
def test_an_intro_video_is_served_without_its_metadata_location_title_or_comment(alice, media_root, make):
    source = make(6)
    with av.open(io.BytesIO(source)) as probe:  # the sample really carries them
        assert probe.metadata.get("title") == "Home sweet home"
        assert {"comment", "COMMENT"} & set(probe.metadata)
    if b"ftyp" in source[:8]:
        assert b"\xa9xyz" in source and probe.metadata["location"].startswith("+34.0205")

    response = put_file(client_for(alice), "video", source, name="intro", content_type="application/octet-stream")

    assert response.status_code == 200, response.content
    served = APIClient().get(response.json()["video_url"])
    assert served.status_code == 200
    body = b"".join(served.streaming_content)
    for secret in (b"\xa9xyz", b"+34.0205", b"Home sweet home", b"Secret Lane", b"1234 Lane", b"Lavf62"):
        assert secret not in body
    with av.open(io.BytesIO(body)) as stored:
        assert not {"title", "comment", "COMMENT", "location", "location-eng"} & set(stored.metadata)
        assert [s.type for s in stored.streams] == ["video", "audio"]
    assert packets(body) == packets(source)


def test_video_of_exactly_50_mb_is_accepted(alice, media_root):
    """A real 50 MB multipart upload through the test client: a 6 s MP4 padded with a `free`
    box (legal MP4 padding), so only the size matters."""
    source = samples.mp4_padded_to(VIDEO_MAX_BYTES)

    response = put_file(client_for(alice), "video", source, name="a.mp4", content_type="video/mp4")

    assert response.status_code == 200, response.content
    alice.refresh_from_db()
    assert packets((media_root / alice.video.name).read_bytes()) == packets(source)  # the padding is gone


def test_video_over_50_mb_is_refused(alice, media_root):
    """A real upload of 50 MB + 1 byte (same padded MP4 as above, one byte more)."""
    source = samples.mp4_padded_to(VIDEO_MAX_BYTES + 1)

    response = put_file(client_for(alice), "video", source, name="a.mp4", content_type="video/mp4")

    assert_refused(response, "video")
    assert "50 MB" in response.json()["error"]["fields"]["video"][0]
    alice.refresh_from_db()
    assert not alice.video
    assert stored_files(media_root, "videos") == []


def test_replacing_a_video_deletes_the_old_file(alice, media_root, django_capture_on_commit_callbacks):
    client = client_for(alice)
    put_file(client, "video", samples.mp4(6), name="a.mp4", content_type="video/mp4")
    alice.refresh_from_db()
    old = media_root / alice.video.name

    with django_capture_on_commit_callbacks(execute=True):
        response = put_file(client, "video", samples.webm(6), name="b.webm", content_type="video/webm")

    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.video.name.endswith(".webm")
    assert not old.exists()
    assert stored_files(media_root, "videos") == [media_root / alice.video.name]


def test_delete_video_clears_it_and_deletes_the_file(alice, media_root, django_capture_on_commit_callbacks):
    client = client_for(alice)
    put_file(client, "video", samples.mp4(6), name="a.mp4", content_type="video/mp4")
    alice.refresh_from_db()
    stored = media_root / alice.video.name

    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete("/api/me/video")

    assert response.status_code == 200
    assert response.json()["video_url"] is None
    alice.refresh_from_db()
    assert not alice.video
    assert not stored.exists()


# --- Access -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["selfie", "video"])
def test_upload_without_a_session_is_401(db, media_root, kind):
    upload = SimpleUploadedFile("a.jpg", samples.jpeg(), content_type="image/jpeg")

    response = APIClient().put(f"/api/me/{kind}", {"file": upload}, format="multipart")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert stored_files(media_root, "selfies") == stored_files(media_root, "videos") == []


@pytest.mark.parametrize("kind", ["selfie", "video"])
def test_banned_user_cannot_upload(alice, media_root, kind):
    alice.ban_status = alice.BanStatus.TEMPORARY
    alice.save(update_fields=["ban_status"])
    data = samples.jpeg() if kind == "selfie" else samples.mp4(6)

    response = put_file(client_for(alice), kind, data, name="a", content_type="application/octet-stream")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "banned"
    assert stored_files(media_root, f"{kind}s") == []


# --- Serving ----------------------------------------------------------------------------------


def test_selfie_is_served_at_its_url_as_jpeg_with_nosniff(alice, media_root):
    response = put_file(client_for(alice), "selfie", samples.png((300, 200)), name="a.png", content_type="image/png")
    url = response.json()["selfie_url"]
    alice.refresh_from_db()

    served = APIClient().get(url)

    assert served.status_code == 200
    assert served["Content-Type"] == "image/jpeg"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served["Content-Security-Policy"]
    body = b"".join(served.streaming_content)
    assert body == (media_root / alice.selfie.name).read_bytes()
    assert Image.open(io.BytesIO(body)).format == "JPEG"


@pytest.mark.parametrize(("make", "content_type"), [(samples.mp4, "video/mp4"), (samples.webm, "video/webm")])
def test_video_is_served_at_its_url_with_its_container_type(alice, media_root, make, content_type):
    response = put_file(client_for(alice), "video", make(6), name="v", content_type="text/html")
    url = response.json()["video_url"]

    served = APIClient().get(url)

    assert served.status_code == 200
    assert served["Content-Type"] == content_type
    assert served["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "name", ["selfies/abc.html", "selfies/abc.svg", "videos/abc.js", "selfies/abc.htm", "selfies/abc"]
)
def test_media_with_an_extension_we_never_write_is_404_even_if_the_file_exists(media_root, name):
    path = media_root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(samples.html_file())

    response = APIClient().get(f"/media/{name}")

    assert response.status_code == 404


def test_media_outside_the_upload_folders_is_404(media_root):
    (media_root / "secret.jpg").write_bytes(samples.jpeg())

    assert APIClient().get("/media/secret.jpg").status_code == 404
    assert APIClient().get("/media/selfies/../secret.jpg").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_selfie_uploads_leave_exactly_one_file(alice, media_root):
    """Both uploads store a file; the row lock orders the swaps and each replaced file is
    deleted after its commit, so whichever wins, no orphan is left."""
    from threading import Barrier, Thread

    from django.db import connection

    token = start_session(alice, ip="127.0.0.1")  # one session (a second login would end the first)
    clients = [APIClient(), APIClient()]
    for client in clients:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    barrier = Barrier(2)
    statuses = []

    def upload(client, data):
        try:
            barrier.wait(timeout=10)
            statuses.append(put_file(client, "selfie", data, name="a.jpg", content_type="image/jpeg").status_code)
        finally:
            connection.close()

    threads = [
        Thread(target=upload, args=(client, samples.jpeg(size)))
        for client, size in zip(clients, [(120, 90), (90, 120)], strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert statuses == [200, 200]
    alice.refresh_from_db()
    assert stored_files(media_root, "selfies") == [media_root / alice.selfie.name]


@pytest.mark.parametrize("brand", [b"qt  ", b"3gp4", b"3g2a"])
def test_video_with_a_quicktime_or_3gp_brand_is_refused(alice, media_root, brand):
    data = bytearray(samples.mp4())
    assert data[4:8] == b"ftyp"
    data[8:12] = brand  # same file, another major brand

    response = put_file(client_for(alice), "video", bytes(data), name="clip.mp4", content_type="video/mp4")

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["video"]
    alice.refresh_from_db()
    assert not alice.video
