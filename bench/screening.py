#!/usr/bin/env python
"""CPU cost of text screening per chat message (screening.text.screen_text, called by
chat.services.messages.post_message before its one statement). Run with
`make bench ARGS="screening --messages 20000"`.

In-process, against the stack's PostgreSQL and Redis (make bench starts them): the rules are
built once from the database (the detectors on as migrated, plus --words watched words of each
action, written in a transaction that is rolled back), then screen_text runs over a corpus of
chat messages: ordinary ones of 10 to 300 characters, and a share with phone numbers, links,
leetspeak and watched words. Prints this process's CPU time per message for each kind and for
the mix, with the load average (the machine is shared)."""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.db import transaction  # noqa: E402

from screening import rules  # noqa: E402
from screening.errors import MessageBlocked  # noqa: E402
from screening.models import WatchedWord  # noqa: E402
from screening.text import screen_text  # noqa: E402

ORDINARY = [
    "hey!",
    "hi, how are you doing today?",
    "what's your major? I'm in comp sci, second year, and I still can't pick electives lol",
    "I loved your intro video, where was that hike? it looks like the trail above Griffith Observatory",
    "haha same, I was at the library until midnight yesterday finishing a problem set for 170. "
    "do you want to grab coffee after class on Thursday? there's a new place on Figueroa that "
    "opens at 7 and has really good cold brew, my roommate swears by it",
]
SPECIAL = [
    "text me at (213) 555-0147 later",
    "add me on insta instagram.com/someone_123",
    "lol https://media.giphy.com/media/abc/giphy.gif",
    "you are such a r3t4rd",
    "send it on venmo",
    "class of 2027, room 301, see you at 9:45",
]


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def measure(name: str, texts: list[str]) -> float:
    cpu0 = time.process_time()
    for text in texts:
        with contextlib.suppress(MessageBlocked):
            screen_text(text)
    cpu = (time.process_time() - cpu0) / len(texts) * 1e6
    print(f"{name:<28} cpu {cpu:8.1f} µs/message  ({len(texts)} messages)  load {loadavg()}", flush=True)
    return cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--words", type=int, default=50, help="watched words per action (plain) + 5 regexes")
    options = parser.parse_args()
    rng = random.Random(7)
    with transaction.atomic():
        for action in ("block", "censor", "flag"):
            WatchedWord.objects.bulk_create(
                [WatchedWord(pattern=f"bench{action}{i}*", action=action) for i in range(options.words)]
            )
        WatchedWord.objects.bulk_create(
            [WatchedWord(pattern=rf"pay\s*pal{i}", is_regex=True, action="block") for i in range(5)]
            + [WatchedWord(pattern="venmo", action="censor")]
        )
        rules.invalidate_rules()
        cpu0 = time.process_time()
        built = rules.current_rules()
        print(f"rules built once: {len(built.rules)} rules in {(time.process_time() - cpu0) * 1e3:.1f} ms CPU")
        transaction.set_rollback(True)
    n = options.messages
    measure("ordinary (10-300 chars)", [rng.choice(ORDINARY) for _ in range(n)])
    measure("special (phones, links...)", [rng.choice(SPECIAL) for _ in range(n // 4)])
    mix = measure("mix: 95% ordinary", [rng.choice(SPECIAL if rng.random() < 0.05 else ORDINARY) for _ in range(n)])
    longest = measure("longest ordinary (300 ch)", [ORDINARY[-1]] * (n // 4))
    print(f"budget 1000 µs/message: mix {mix:.0f} µs, worst ordinary {longest:.0f} µs")
    rules.invalidate_rules()
    return 0


if __name__ == "__main__":
    sys.exit(main())
