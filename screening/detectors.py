"""The built-in detectors: phone numbers (Google's libphonenumber, via `phonenumbers`), links
outside the GIF hosts, and slurs/profanity from glin-profanity's maintained English word list,
read after leetspeak normalisation. Each returns the spans it found in the original text."""

import json
import re
from functools import cache
from importlib import resources

import phonenumbers
from django.conf import settings
from glin_profanity import normalize_leetspeak

Span = tuple[int, int]

# --- phone numbers -------------------------------------------------------------------------

PHONE_REGION = "US"  # numbers written without a country code are read as US numbers
PHONE_MIN_DIGITS = 7  # fewer digits cannot be a phone number: the matcher is skipped (it is slow)


_DROP_DIGITS = str.maketrans("", "", "0123456789")


def phone_spans(text: str) -> list[Span]:
    if len(text) - len(text.translate(_DROP_DIGITS)) < PHONE_MIN_DIGITS:  # counted in C
        return []
    matcher = phonenumbers.PhoneNumberMatcher(text, PHONE_REGION, leniency=phonenumbers.Leniency.POSSIBLE)
    return [(m.start, m.end) for m in matcher]


# --- links -----------------------------------------------------------------------------------

_TLDS = (
    "com|net|org|edu|gov|io|me|co|app|ly|gg|tv|xyz|info|biz|us|uk|ca|de|fr|link|site|online|live|club|page|"
    "to|be|ai|dev|chat|social|fun|top|store|shop|im"
)
LINK_RE = re.compile(
    rf"(?i)\b(?:https?://|www\.)[^\s<>\"]+|\b(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)+(?:{_TLDS})\b(?:/[^\s<>\"]*)?"
)
_HOST_RE = re.compile(r"(?i)^(?:https?://)?([^/:?#\s]+)")


_LINKISH = re.compile(r"(?i)\w\.[a-z]|://")  # a dot inside a word, or a scheme: the cheap first look


def link_spans(text: str) -> list[Span]:
    if not _LINKISH.search(text):
        return []
    spans = []
    for match in LINK_RE.finditer(text):
        host = _HOST_RE.match(match.group(0))
        if host and host.group(1).lower() in settings.GIF_HOSTS:
            continue
        spans.append(match.span())
    return spans


# --- slurs and profanity -----------------------------------------------------------------------

# The entries of glin-profanity's English list that attack a group of people: the "slur"
# detector (a slur missing from the list is a watched word away). The whole list is the
# "profanity" detector, off by default: it includes words such as "sexy" that are ordinary on a
# dating app. A test checks each entry is in the package's list.
SLUR_ENTRIES = frozenset(
    {
        "coon", "coons", "darkie", "faggot", "kike", "negro", "nigga", "nigger", "nig nog", "paki", "raghead",
        "retard", "retarded", "slanteye", "spic", "towelhead", "tranny", "wetback", "beaner", "twink",
    }
)  # fmt: skip
_WORD_RE = re.compile(r"[a-z]+")


class WordList:
    """Entries of a word list, for a fast scan of a message's words: single words in a set,
    phrases under their first word."""

    def __init__(self, entries):
        self.words = frozenset(e for e in entries if " " not in e)
        phrases: dict[str, list[tuple[str, ...]]] = {}
        for entry in entries:
            if " " in entry:
                first, *rest = entry.split(" ")
                phrases.setdefault(first, []).append(tuple(rest))
        self.phrases = phrases

    def __contains__(self, entry: str) -> bool:
        first, *rest = entry.split(" ")
        return first in self.words if not rest else tuple(rest) in self.phrases.get(first, ())

    def hits(self, words: list[str]) -> bool:
        for i, word in enumerate(words):
            if word in self.words:
                return True
            for rest in self.phrases.get(word, ()):
                if tuple(words[i + 1 : i + 1 + len(rest)]) == rest:
                    return True
        return False


@cache
def _package_entries() -> frozenset[str]:
    raw = resources.files("glin_profanity").joinpath("data/dictionaries/english.json").read_text("utf-8")
    # Entries are read the way messages are ("a$$" is "ass"), so both meet in one spelling.
    return frozenset(" ".join(_normalised_words(w)) for w in json.loads(raw)["words"]) - {""}


@cache
def profanity_list() -> WordList:
    return WordList(_package_entries())


@cache
def slur_list() -> WordList:
    return WordList(SLUR_ENTRIES & _package_entries())


def _normalised_words(text: str) -> list[str]:
    return _WORD_RE.findall(normalize_leetspeak(text.lower()))


# A token needs glin-profanity's normalisation only if it has something besides ASCII letters and
# sentence punctuation, or a letter three times in a row; letters spaced out ("s p i c") need it
# over the whole text. Other tokens are read as they are: the normalisation would not change
# them, and it costs ~1 µs a character (pure Python).
_HARD_TOKEN = re.compile(r"[^a-z.,!?;:'\"()\s]|([a-z])\1\1")
_SPACED = re.compile(r"(?:^|\s)(?:\S\s){2,}\S(?:\s|$)")
_NUMBER = re.compile(r"[\d.,:;!?'\"()/+-]+")  # a number, a time, a date: no word of the lists


def _token_words(token: str) -> list[str]:
    if not _HARD_TOKEN.search(token):
        return _WORD_RE.findall(token)
    if _NUMBER.fullmatch(token):
        return []
    return _normalised_words(token)


def message_words(text: str) -> list[str]:
    """The message's words as the word lists spell them (leetspeak read as letters)."""
    lower = text.lower()
    if _SPACED.search(lower):
        return _normalised_words(lower)
    if not _HARD_TOKEN.search(lower):
        return _WORD_RE.findall(lower)
    return [word for token in lower.split() for word in _token_words(token)]


def word_list_spans(text: str, entries: WordList) -> list[Span]:
    """Spans of the original text's tokens that are (after leetspeak normalisation) entries of
    the list; when only the whole text matches (letters spaced out, a phrase), the whole text."""
    if not entries.hits(message_words(text)):
        return []
    spans = []
    for token in re.finditer(r"\S+", text):
        if entries.hits(message_words(token.group(0))):
            spans.append(token.span())
    return spans or [(0, len(text))]
