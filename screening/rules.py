"""The screening rules a process applies, built from the watched words and detector switches
and cached in the process. A change in the admin bumps a version number in Redis (and drops
this process's copy at once); other processes look at that number at most every
RULES_RECHECK_SECONDS, so a change applies everywhere within that time. If Redis cannot be
read, the rules in hand stay in use (screening never fails a message over a cache)."""

import logging
import re
import time
from dataclasses import dataclass, field

from django.core.cache import cache

from screening import detectors
from screening.models import Detector, ScreeningAction, WatchedWord
from screening.patterns import whole_words, word_body

logger = logging.getLogger("rendezvous.screening")

VERSION_KEY = "screening:rules-version"
RULES_RECHECK_SECONDS = 2.0

# What each detector does out of the box (the migration writes these rows; a missing row
# means the detector runs with its default).
DETECTOR_DEFAULTS = {
    Detector.Name.PHONE: (True, ScreeningAction.CENSOR),
    Detector.Name.LINK: (True, ScreeningAction.CENSOR),
    Detector.Name.SLUR: (True, ScreeningAction.BLOCK),
    Detector.Name.PROFANITY: (False, ScreeningAction.CENSOR),
}


@dataclass(frozen=True)
class Rule:
    label: str  # "word:12", "detector:phone": what moderators see in the evidence
    action: str
    find: object  # text -> list of (start, end)


@dataclass
class RuleSet:
    rules: list[Rule] = field(default_factory=list)


def _regex_finder(compiled):
    return lambda text: [m.span() for m in compiled.finditer(text) if m.end() > m.start()]


_DETECTOR_FINDERS = {
    Detector.Name.PHONE: detectors.phone_spans,
    Detector.Name.LINK: detectors.link_spans,
    Detector.Name.SLUR: lambda text: detectors.word_list_spans(text, detectors.slur_list()),
    Detector.Name.PROFANITY: lambda text: detectors.word_list_spans(text, detectors.profanity_list()),
}


def build_rules() -> RuleSet:
    """Read the rules from the database: watched words grouped by action into one regex each
    (plain words) plus one per moderator regex; the detectors that are on."""
    rules: list[Rule] = []
    words = list(WatchedWord.objects.values_list("pk", "pattern", "is_regex", "action"))
    for action in ScreeningAction.values:
        plain = [(pk, p) for pk, p, is_regex, a in words if a == action and not is_regex]
        if plain:
            # Longest first: "how old are you" wins over "how" where both match at one place.
            bodies = [word_body(p) for _, p in sorted(plain, key=lambda row: -len(row[1]))]
            rules.append(Rule(f"words:{action}", action, _regex_finder(re.compile(whole_words(bodies), re.IGNORECASE))))
    for pk, pattern, is_regex, action in words:
        if not is_regex:
            continue
        try:
            compiled = re.compile(pattern, re.IGNORECASE)
        except re.error:  # refused by the admin; a row written around it is skipped
            logger.warning("watched word %s is not a valid regex; skipped", pk)
            continue
        rules.append(Rule(f"word:{pk}", action, _regex_finder(compiled)))
    switches = {d.name: (d.enabled, d.action) for d in Detector.objects.all()}
    for name, finder in _DETECTOR_FINDERS.items():
        enabled, action = switches.get(name, DETECTOR_DEFAULTS[name])
        if enabled:
            rules.append(Rule(f"detector:{name}", action, finder))
    return RuleSet(rules)


_cached: tuple[object, float, RuleSet] | None = None  # (version, next look at Redis, rules)


def _version():
    try:
        return cache.get(VERSION_KEY, 0)
    except Exception:  # Redis down: keep what we have
        logger.warning("screening rules version unreadable; using the cached rules", exc_info=True)
        return None


def current_rules() -> RuleSet:
    global _cached
    now = time.monotonic()
    if _cached is not None and now < _cached[1]:
        return _cached[2]
    version = _version()
    if _cached is not None and (version is None or version == _cached[0]):
        _cached = (_cached[0], now + RULES_RECHECK_SECONDS, _cached[2])
        return _cached[2]
    rules = build_rules()
    _cached = (version, now + RULES_RECHECK_SECONDS, rules)
    return rules


def invalidate_rules() -> None:
    """Drop this process's rules and tell the others (a new version in Redis)."""
    global _cached
    _cached = None
    try:
        cache.set(VERSION_KEY, time.time_ns(), timeout=None)
    except Exception:
        logger.warning("screening rules version not bumped; other processes see the change later", exc_info=True)
