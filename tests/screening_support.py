"""Helpers for the screening tests: a room to chat in, fresh rules, the marker classifier."""

import pytest

from screening import classifier, rules
from tests.factories import ActiveRoomFactory


def live_room(user_1, user_2):
    return ActiveRoomFactory(user_1=user_1, user_2=user_2, user_1_connected=True, user_2_connected=True)


def fresh_rules():
    """Drop the process's cached rules (a test's rows are not committed, so no signal ran)."""
    rules.invalidate_rules()


def picture(seed: int, size=(320, 400)):
    """A deterministic picture with structure (blurred random shapes): a stand-in for a selfie
    whose perceptual hash survives resizing and re-encoding."""
    import random

    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(seed)
    image = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(25):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        r = rng.randrange(20, 120)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(256) for _ in range(3)))
    return image.filter(ImageFilter.GaussianBlur(3))


def jpeg_of(image, *, quality=90) -> bytes:
    import io

    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def near_duplicate(image):
    """The same photo again: slightly cropped, resized, brightened and re-encoded."""
    from PIL import ImageEnhance

    w, h = image.size
    cropped = image.crop((6, 6, w - 6, h - 6)).resize((int(w * 0.8), int(h * 0.8)))
    return ImageEnhance.Brightness(cropped).enhance(1.08)


class MarkerClassifier:
    """The test seam for the nudity classifier: an image that is mostly the marker colour
    (orange) scores 0.97, anything else 0.02. NudeNet itself is checked on a real image in
    test_screening_media.py (it runs offline and passes an ordinary picture)."""

    def score(self, image: bytes) -> float:
        import io

        from PIL import Image, ImageStat

        r, g, b = ImageStat.Stat(Image.open(io.BytesIO(image)).convert("RGB")).mean
        return 0.97 if r > 200 and 100 < g < 180 and b < 60 else 0.02


@pytest.fixture
def marker_classifier(settings):
    """The image screening scores with MarkerClassifier for the test (and back after it)."""
    settings.SCREENING_NUDITY_CLASSIFIER = "tests.screening_support.MarkerClassifier"
    classifier.classifier.cache_clear()
    yield
    classifier.classifier.cache_clear()


def orange_picture():
    from PIL import Image

    return Image.new("RGB", (200, 200), (240, 140, 20))
