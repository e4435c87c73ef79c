"""Checking uploads by their content, never by the client's file name or type.

Selfies are decoded by Pillow and re-encoded (JPEG, at most 800×800, no EXIF). Videos are
sniffed by their magic bytes (MP4 `ftyp` box or WebM EBML header), then opened with FFmpeg's
demuxer of exactly that container (PyAV) to read the duration, and re-muxed (strip_video_metadata):
the video and audio streams are copied packet for packet, without re-encoding, into a new file of
the same container that carries no tags (title, comment, the Apple location `©xyz`, dates,
device), no chapters and no other streams (subtitles, data, cover art)."""

import io
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.files.base import ContentFile, File
from PIL import Image, ImageOps

from config.errors import InvalidInput

SELFIE_MAX_BYTES = 5 * 1024 * 1024
SELFIE_MAX_SIDE = 800
SELFIE_MAX_PIXELS = 40_000_000  # decompression-bomb guard for the decoder
SELFIE_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "HEIF", "MPO"}

VIDEO_MAX_BYTES = 50 * 1024 * 1024
VIDEO_MIN_SECONDS = 5
VIDEO_MAX_SECONDS = 60
EBML_MAGIC = b"\x1a\x45\xdf\xa3"


def _refuse(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, fields={field: [message]})


def process_selfie(upload) -> ContentFile:
    """Decode the image, apply its EXIF orientation, shrink to ≤ 800×800 and re-encode as JPEG
    without metadata. Anything Pillow cannot decode, or too big, is refused (400)."""
    return reencode_image(upload, field="selfie", max_side=SELFIE_MAX_SIDE)


def reencode_image(upload, *, field: str, max_side: int) -> ContentFile:
    """Any image Pillow reads (≤ 5 MB, ≤ SELFIE_MAX_PIXELS: a decompression bomb is refused
    before decoding), turned upright by its EXIF orientation, shrunk to ≤ max_side×max_side and
    re-encoded as JPEG with no metadata at all (no EXIF, GPS, comment, ICC or XMP). Refusals are
    400s about `field`. Selfies and photos sent in text calls both come through here."""
    if upload.size is None or upload.size > SELFIE_MAX_BYTES:
        raise _refuse(field, "The image must be at most 5 MB.")
    data = upload.read(SELFIE_MAX_BYTES + 1)
    if len(data) > SELFIE_MAX_BYTES:
        raise _refuse(field, "The image must be at most 5 MB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in SELFIE_FORMATS:
                    raise _refuse(field, "Upload a JPEG, PNG, WebP or GIF image.")
                if probe.width * probe.height > SELFIE_MAX_PIXELS:
                    raise _refuse(field, "The image has too many pixels.")
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                image = ImageOps.exif_transpose(image)
                image = image.convert("RGB")
                image.info = {}  # no comment, ICC, XMP or other text carried into the public file
                image.thumbnail((max_side, max_side))
                out = io.BytesIO()
                image.save(out, format="JPEG", quality=85, optimize=True)
    except InvalidInput:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _refuse(field, "That file is not an image we can read.") from exc
    return ContentFile(out.getvalue())


@dataclass(frozen=True)
class VideoInfo:
    container: str  # "mp4" or "webm"
    seconds: float
    content_type: str


# ISO/MP4 major brands we take as MP4 (QuickTime "qt  " and 3GPP are not what we serve as video/mp4).
MP4_BRANDS = {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash", b"mp71"}


def sniff_container(head: bytes) -> str | None:
    if len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in MP4_BRANDS:
        return "mp4"
    if head.startswith(EBML_MAGIC) and b"webm" in head[:64]:
        return "webm"
    return None


def _av():
    """PyAV (FFmpeg, ~20 MB of memory): imported with the first video, not by every process
    that loads this module at start-up (the small host, docs/deploy.md)."""
    import av

    return av


def _duration_seconds(container) -> float:
    av = _av()
    if container.duration:
        return container.duration / av.time_base
    # Browser MediaRecorder WebM often carries no duration: read packet timestamps instead.
    stream = container.streams.video[0]
    end = 0.0
    for packet in container.demux(stream):
        if packet.pts is not None and packet.time_base is not None:
            end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    return end


def inspect_video(upload) -> VideoInfo:
    """MP4 or WebM with a video stream, 5–60 s, ≤ 50 MB; otherwise 400 with the reason."""
    if upload.size is None or upload.size > VIDEO_MAX_BYTES:
        raise _refuse("video", "The video must be at most 50 MB.")
    upload.seek(0)
    kind = sniff_container(upload.read(64))
    if kind is None:
        raise _refuse("video", "Upload an MP4 or WebM video.")
    upload.seek(0)
    av = _av()
    try:
        with av.open(upload, mode="r", format="mov" if kind == "mp4" else "matroska") as container:
            if not container.streams.video:
                raise _refuse("video", "The file has no video track.")
            seconds = _duration_seconds(container)
    except InvalidInput:
        raise
    except (av.error.FFmpegError, OSError, ValueError, IndexError) as exc:
        raise _refuse("video", "That file is not a video we can read.") from exc
    finally:
        upload.seek(0)
    if not VIDEO_MIN_SECONDS <= seconds <= VIDEO_MAX_SECONDS:
        raise _refuse("video", f"The video must be 5 to 60 seconds long (it is {seconds:.1f} s).")
    return VideoInfo(container=kind, seconds=seconds, content_type=f"video/{kind}")


# The muxer of each container we accept. "bitexact" keeps FFmpeg from writing its own name and
# version as an `encoder` tag.
REMUX_FORMATS = {"mp4": "mp4", "webm": "webm"}
REMUX_OPTIONS = {"fflags": "+bitexact"}


@contextmanager
def strip_video_metadata(upload, info: VideoInfo) -> Iterator[File]:
    """A copy of an inspected video with its video and audio streams only and no metadata, in a
    temporary file deleted when the `with` block ends. 400 if FFmpeg cannot re-mux it."""
    av = _av()
    with tempfile.TemporaryFile(suffix=f".{info.container}") as out:
        upload.seek(0)
        try:
            with av.open(upload, mode="r", format="mov" if info.container == "mp4" else "matroska") as source:
                kept = [s for s in source.streams if s.type in ("video", "audio")]
                with av.open(out, mode="w", format=REMUX_FORMATS[info.container], options=REMUX_OPTIONS) as target:
                    streams = {}
                    for stream in kept:
                        copy = target.add_stream_from_template(stream)
                        copy.metadata.clear()
                        streams[stream.index] = copy
                    for packet in source.demux(kept):
                        if packet.dts is None:  # the demuxer's flush packet at each stream's end
                            continue
                        packet.stream = streams[packet.stream.index]
                        target.mux(packet)
        except (av.error.FFmpegError, OSError, ValueError, IndexError) as exc:
            raise _refuse("video", "That file is not a video we can read.") from exc
        finally:
            upload.seek(0)
        out.seek(0)
        yield File(out, name=f"video.{info.container}")
