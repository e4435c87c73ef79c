"""The nudity classifier: NudeNet's detector (its wheel carries the 12 MB ONNX model; nothing is
fetched at run time), loaded on first use in the process that needs it (the screening Celery
worker), never at import. settings.SCREENING_NUDITY_CLASSIFIER names the class, so tests and a
deployment without the model can plug another in."""

import threading
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

# The labels that count as nudity: an image's score is the highest score among them.
EXPOSED = frozenset(
    {
        "FEMALE_BREAST_EXPOSED",
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "ANUS_EXPOSED",
        "BUTTOCKS_EXPOSED",
    }
)


class NudeNetClassifier:
    """Scores an image (encoded bytes) from 0 to 1."""

    def __init__(self):
        from nudenet import NudeDetector  # heavy (onnxruntime, OpenCV): only where images are scored

        self._detector = NudeDetector()
        self._lock = threading.Lock()  # one inference at a time per process (the session's buffers)

    def score(self, image: bytes) -> float:
        with self._lock:
            detections = self._detector.detect(image)
        return max((d["score"] for d in detections if d["class"] in EXPOSED), default=0.0)


@cache
def classifier():
    return import_string(settings.SCREENING_NUDITY_CLASSIFIER)()
