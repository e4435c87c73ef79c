#!/usr/bin/env python
"""The nudity classifier's cost in a worker: resident memory before and after NudeNet loads,
and the time per image (a 1080×1350 selfie and an intro-video keyframe size, 1280×720). Run
with `make bench ARGS="nudity --images 20"`; prints the load average (the machine is shared)."""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from PIL import Image, ImageDraw  # noqa: E402

from screening.classifier import NudeNetClassifier  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def sample(size, seed) -> bytes:
    rng = random.Random(seed)
    image = Image.new("RGB", size, (rng.randrange(256), 120, 90))
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y, r = rng.randrange(size[0]), rng.randrange(size[1]), rng.randrange(20, 200)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(256) for _ in range(3)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=20)
    options = parser.parse_args()
    before = rss_mb()
    started = time.perf_counter()
    model = NudeNetClassifier()
    print(f"load: {time.perf_counter() - started:.2f} s, RSS {before:.0f} → {rss_mb():.0f} MB  load {loadavg()}")
    for size in ((1080, 1350), (1280, 720)):
        images = [sample(size, i) for i in range(options.images)]
        model.score(images[0])  # warm
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for image in images:
            model.score(image)
        n = len(images)
        cpu, wall = (time.process_time() - cpu0) / n * 1e3, (time.perf_counter() - wall0) / n * 1e3
        print(
            f"{size[0]}×{size[1]}: {wall:.0f} ms/image wall, {cpu:.0f} ms CPU, RSS {rss_mb():.0f} MB  load {loadavg()}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
