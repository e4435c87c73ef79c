"""Perceptual hashes (imagehash's 64-bit pHash) of selfies and video keyframes, and the
keyframes themselves. Two images whose hashes differ in few bits are near-duplicates: the same
photo re-encoded, resized, recoloured or slightly cropped. A hash does not recognise a face in
a different photo, and the picture cannot be rebuilt from it."""

import io

from PIL import Image

HASH_BITS = 64
KEYFRAMES = 3  # intro-video frames screened: at 1/4, 1/2 and 3/4 of its length


def phash(image: Image.Image) -> int:
    """The 64-bit pHash as a signed integer (a PostgreSQL bigint)."""
    import imagehash  # numpy and SciPy's kin (~16 MB): with the first image, not at start-up

    value = int(str(imagehash.phash(image)), 16)
    return value - (1 << HASH_BITS) if value >= 1 << (HASH_BITS - 1) else value


def jpeg_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


def video_keyframes(source, *, count: int = KEYFRAMES) -> list[Image.Image]:
    """`count` frames spread over the video (the keyframe at or before each point)."""
    import av  # FFmpeg (~20 MB): with the first video, not at start-up

    frames = []
    with av.open(source, mode="r") as container:
        stream = container.streams.video[0]
        duration = float(container.duration or 0) / av.time_base
        for i in range(1, count + 1):
            at = duration * i / (count + 1)
            container.seek(int(at / stream.time_base) if stream.time_base else 0, stream=stream, backward=True)
            for frame in container.decode(stream):
                frames.append(frame.to_image())
                break
    return frames
