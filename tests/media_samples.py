"""Real sample files for the upload tests, generated in memory (Pillow for images, PyAV for
videos), so every test sees genuine bytes rather than mocked decoders."""

import io
import os
import struct
from fractions import Fraction

import av
from PIL import Image

# EXIF tags written into the sample JPEG.
EXIF_MAKE = 0x010F
EXIF_MODEL = 0x0110
EXIF_ORIENTATION = 0x0112
EXIF_SOFTWARE = 0x0131
EXIF_GPS_IFD = 0x8825


def _two_tone(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue: after a rotation the halves tell which way it turned."""
    width, height = size
    image = Image.new(mode, size, (200, 20, 20) if mode == "RGB" else (200, 20, 20, 255))
    image.paste((20, 20, 200) if mode == "RGB" else (20, 20, 200, 255), (width // 2, 0, width, height))
    return image


def jpeg_with_exif(size: tuple[int, int] = (200, 100), *, orientation: int = 6) -> bytes:
    """A JPEG carrying camera EXIF (Make, Model, Software, GPS) and an Orientation tag."""
    exif = Image.Exif()
    exif[EXIF_MAKE] = "RendezvousTestCam"
    exif[EXIF_MODEL] = "Model X"
    exif[EXIF_SOFTWARE] = "pytest"
    exif[EXIF_ORIENTATION] = orientation
    exif.get_ifd(EXIF_GPS_IFD).update({1: "N", 2: (34.0, 1.0, 20.0), 3: "W", 4: (118.0, 17.0, 6.0)})
    out = io.BytesIO()
    _two_tone(size).save(out, format="JPEG", exif=exif, quality=90)
    return out.getvalue()


def jpeg(size: tuple[int, int] = (120, 90)) -> bytes:
    out = io.BytesIO()
    _two_tone(size).save(out, format="JPEG", quality=90)
    return out.getvalue()


def jpeg_with_comment(comment: bytes, size: tuple[int, int] = (120, 90)) -> bytes:
    """A JPEG with a COM (comment) segment, which cameras and editors fill with text."""
    out = io.BytesIO()
    _two_tone(size).save(out, format="JPEG", comment=comment)
    return out.getvalue()


def gif_with_comment(comment: bytes, size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    _two_tone(size).convert("P").save(out, format="GIF", comment=comment)
    return out.getvalue()


def pixel_bomb_png(size: tuple[int, int] = (9000, 5000)) -> bytes:
    """A few KB on disk, 45 million pixels once decoded."""
    out = io.BytesIO()
    Image.new("1", size).save(out, format="PNG")
    return out.getvalue()


def png(size: tuple[int, int] = (2000, 1000)) -> bytes:
    out = io.BytesIO()
    _two_tone(size, mode="RGBA").save(out, format="PNG")
    return out.getvalue()


def gif(size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    _two_tone(size).convert("P").save(out, format="GIF")
    return out.getvalue()


def noise_png(min_bytes: int) -> bytes:
    """A decodable PNG of random pixels (incompressible) at least min_bytes long."""
    side = int((min_bytes / 3) ** 0.5) + 16
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=0)
    data = out.getvalue()
    assert len(data) >= min_bytes
    return data


def jpeg_padded_to(total_bytes: int) -> bytes:
    """A valid JPEG followed by ignorable bytes after its end marker, exactly total_bytes long."""
    data = jpeg()
    assert len(data) <= total_bytes
    return data + b"\0" * (total_bytes - len(data))


def truncated_jpeg() -> bytes:
    data = jpeg((400, 300))
    return data[: len(data) // 2]


def text_file() -> bytes:
    return b"This is not an image, just some text someone renamed to .jpg.\n" * 4


def html_file() -> bytes:
    return b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>\n"


def svg_file() -> bytes:
    return b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>'


def jpeg_html_polyglot() -> bytes:
    """A decodable JPEG with an HTML page appended after its end marker."""
    return jpeg() + html_file()


def random_bytes(length: int = 4096) -> bytes:
    return os.urandom(length)


def video(
    *,
    container: str,
    codec: str,
    seconds: int,
    fps: int = 5,
    options: dict | None = None,
    metadata: dict | None = None,
    audio_codec: str | None = None,
) -> bytes:
    """A 64×64 clip of `seconds` seconds encoded with PyAV (frame count = seconds × fps), with
    the container tags `metadata` (e.g. title, comment) and, with `audio_codec`, a silent track."""
    out = io.BytesIO()
    with av.open(out, mode="w", format=container, options=options or {}) as output:
        output.metadata.update(metadata or {})
        stream = output.add_stream(codec, rate=fps)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        audio = output.add_stream(audio_codec, rate=48000) if audio_codec else None
        if audio:
            audio.layout = "mono"
        for index in range(seconds * fps):
            image = Image.new("RGB", (64, 64), ((index * 8) % 256, 80, 160))
            frame = av.VideoFrame.from_image(image).reformat(format="yuv420p")
            frame.pts = index
            frame.time_base = Fraction(1, fps)  # the muxer rewrites stream.time_base after the header
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode(None):
            output.mux(packet)
        if audio:
            _silence(audio, output, seconds)
    return out.getvalue()


def _silence(stream, output, seconds: int) -> None:
    """Encode `seconds` of silence on an audio stream (mono, 48 kHz)."""
    samples = 960
    for index in range(seconds * 48000 // samples):
        frame = av.AudioFrame(format=stream.format.name, layout="mono", samples=samples)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate, frame.pts, frame.time_base = 48000, index * samples, Fraction(1, 48000)
        for packet in stream.encode(frame):
            output.mux(packet)
    for packet in stream.encode(None):
        output.mux(packet)


def mp4(seconds: int = 6, *, fps: int = 5) -> bytes:
    return video(container="mp4", codec="mpeg4", seconds=seconds, fps=fps)


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _boxes(data: bytes):
    """(kind, payload) of each box in `data`, in order."""
    pos = 0
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        yield kind, data[pos + 8 : pos + size]
        pos += size


def mp4_with_metadata(seconds: int = 6, *, location: bytes = b"+34.0205-118.2856+050.000/") -> bytes:
    """An MP4 with title and comment tags (written by FFmpeg) and an Apple location atom
    (`©xyz` in moov/udta, ISO 6709, as iPhones write it; FFmpeg's mp4 muxer writes none, so it is
    added here). moov comes after mdat, so growing it moves no sample offset."""
    data = video(
        container="mp4",
        codec="mpeg4",
        seconds=seconds,
        metadata={"title": "Home sweet home", "comment": "filmed at 1234 Secret Lane"},
        audio_codec="aac",
    )
    xyz = _box(b"\xa9xyz", struct.pack(">HH", len(location), 0x15C7) + location)
    out = b""
    for kind, payload in _boxes(data):
        if kind == b"moov":
            children = [(k, p + xyz if k == b"udta" else p) for k, p in _boxes(payload)]
            if b"udta" not in [k for k, _ in children]:
                children.append((b"udta", xyz))
            payload = b"".join(_box(k, p) for k, p in children)
        out += _box(kind, payload)
    return out


def webm_with_metadata(seconds: int = 6) -> bytes:
    return video(
        container="webm",
        codec="libvpx",
        seconds=seconds,
        metadata={"title": "Home sweet home", "comment": "1234 Lane"},
        audio_codec="libopus",
    )


def webm(seconds: int = 6, *, fps: int = 5) -> bytes:
    return video(container="webm", codec="libvpx", seconds=seconds, fps=fps)


def live_webm(seconds: int = 6, *, fps: int = 5) -> bytes:
    """WebM written as a live stream (no duration in the header), like a browser's MediaRecorder."""
    return video(container="webm", codec="libvpx", seconds=seconds, fps=fps, options={"live": "1"})


def mkv(seconds: int = 6, *, fps: int = 5) -> bytes:
    """Matroska (not WebM): same EBML magic, DocType "matroska"."""
    return video(container="matroska", codec="libvpx", seconds=seconds, fps=fps)


def mp4_padded_to(total_bytes: int, seconds: int = 6) -> bytes:
    """A valid MP4 followed by a `free` box (legal padding) so the file is exactly total_bytes."""
    data = mp4(seconds)
    pad = total_bytes - len(data)
    assert pad >= 8
    return data + struct.pack(">I", pad) + b"free" + b"\0" * (pad - 8)


def audio_only_mp4(seconds: int = 6) -> bytes:
    """An MP4 (M4A) with one AAC audio track of silence and no video track."""
    rate, samples = 44100, 1024
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as output:
        stream = output.add_stream("aac", rate=rate)
        stream.layout = "mono"
        for index in range(seconds * rate // samples + 1):
            frame = av.AudioFrame(format="fltp", layout="mono", samples=samples)
            frame.planes[0].update(b"\0" * frame.planes[0].buffer_size)
            frame.sample_rate = rate
            frame.pts = index * samples
            frame.time_base = Fraction(1, rate)
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode(None):
            output.mux(packet)
    return out.getvalue()
