"""Profile field rules shared by serializers and services."""

import re
import unicodedata
from functools import cache

from confusable_homoglyphs import confusables

from config.errors import InvalidInput

NAME_MAX = 60
INSTAGRAM_POSTS_MAX = 10
# The same rule the database checks (accounts.models.INSTAGRAM_POST_JSONPATH_REGEX).
INSTAGRAM_POST_URL = re.compile(r"^https://(www\.)?instagram\.com/(p|reel|reels)/[A-Za-z0-9_-]{5,40}/?$")

# Networks we show, and what a handle on each looks like (without a leading @).
SOCIAL_HANDLES = {
    "instagram": re.compile(r"^[A-Za-z0-9._]{1,30}$"),
    "snapchat": re.compile(r"^[A-Za-z][A-Za-z0-9._-]{2,14}$"),
    "tiktok": re.compile(r"^[A-Za-z0-9._]{2,24}$"),
    "x": re.compile(r"^[A-Za-z0-9_]{1,15}$"),
    "linkedin": re.compile(r"^[A-Za-z0-9-]{3,100}$"),
    "discord": re.compile(r"^[a-z0-9_.]{2,32}$"),
}


def _visible(text: str) -> str:
    """Drop control, format (zero-width, bidi) and unassigned characters."""
    return "".join(ch for ch in text if unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co", "Cn"})


# Display names (clean_name: sign-up, settings and the admin all go through it).
# Letters that draw nothing (Unicode Default_Ignorable letters: the Hangul fillers), so "ㅤ" is
# no name. Other blanks (U+2800 braille blank, spaces) are not letters in the first place.
INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
MAX_MARKS_PER_LETTER = 3  # combining marks in a row (accents, vowel signs): more is "Zalgo" text
# Words only staff may go by, compared on a look-alike skeleton (_skeleton), as whole words.
STAFF_WORDS = frozenset(
    {
        "admin",
        "administrator",
        "sysadmin",
        "moderator",
        "staff",
        "support",
        "helpdesk",
        "official",
        "security",
        "rendezvous",
    }
)


class NameNotAllowed(InvalidInput):
    """A name of the right shape (1 to 60 visible characters) that the content rules refuse: no
    visible letter, too many marks on a letter, a staff word. Its own code, as a schema cannot
    state these rules (the OpenAPI pattern says only "not blank")."""

    code = "name_not_allowed"


def _name_error(message: str) -> NameNotAllowed:
    return NameNotAllowed(message, fields={"name": [message]})


@cache
def _latin_lookalike(ch: str) -> str:
    """The ASCII letter `ch` can be mistaken for (Unicode's confusables data, through the
    confusable_homoglyphs library), or `ch` itself."""
    if ch.isascii():
        return ch
    for found in confusables.is_confusable(ch, greedy=True, preferred_aliases=[]) or []:
        for glyph in found["homoglyphs"]:
            if len(glyph["c"]) == 1 and glyph["c"].isascii() and glyph["c"].isalpha():
                return glyph["c"].casefold()
    return ch


def _skeleton(text: str) -> str:
    """What a name looks like: NFKC, case-folded, each character replaced by the ASCII letter it
    resembles, marks dropped, and l/i folded together (I, l, 1 and | look alike)."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    shown = "".join(_latin_lookalike(ch) for ch in folded if not unicodedata.category(ch).startswith("M"))
    return shown.casefold().replace("l", "i")


STAFF_SKELETONS = frozenset(_skeleton(word) for word in STAFF_WORDS)


def _impersonates_staff(name: str) -> bool:
    skeleton = _skeleton(name)
    words = re.split(r"[^a-z]+", skeleton)
    return any(word in STAFF_SKELETONS for word in words) or re.sub(r"[^a-z]+", "", skeleton) in STAFF_SKELETONS


def clean_name(value, *, staff: bool = False) -> str:
    """A display name as stored: NFKC-normalised, without control or format characters, runs of
    spaces collapsed, 1 to 60 characters, at least one visible letter, at most
    MAX_MARKS_PER_LETTER combining marks in a row, and (unless the account is staff) not a
    staff word or a look-alike of one (STAFF_WORDS). Raises InvalidInput naming `name` (the
    content rules: NameNotAllowed, code `name_not_allowed`)."""
    name = " ".join(_visible(unicodedata.normalize("NFKC", str(value or ""))).split())
    if not 1 <= len(name) <= NAME_MAX:
        message = f"Name must be 1 to {NAME_MAX} characters."
        raise InvalidInput(message, fields={"name": [message]})
    if not any(unicodedata.category(ch).startswith("L") and ch not in INVISIBLE_LETTERS for ch in name):
        raise _name_error("A name needs at least one visible letter.")
    run = 0
    for ch in name:
        run = run + 1 if unicodedata.category(ch).startswith("M") else 0
        if run > MAX_MARKS_PER_LETTER:
            raise _name_error(f"At most {MAX_MARKS_PER_LETTER} accents or marks on one letter.")
    if not staff and _impersonates_staff(name):
        raise _name_error("That name is kept for Rendezvous staff; choose another.")
    return name


def clean_socials(value) -> dict:
    if not isinstance(value, dict):
        raise InvalidInput("Socials must be an object.", fields={"socials": ["Expected an object of handles."]})
    cleaned, errors = {}, {}
    for network, handle in value.items():
        if network not in SOCIAL_HANDLES:
            errors[network] = [f"Unknown network; use one of {', '.join(sorted(SOCIAL_HANDLES))}."]
            continue
        if handle is None or handle == "":
            continue  # removing a handle
        if not isinstance(handle, str):  # false or 42 is not a handle (str() would make it one)
            errors[network] = ["A handle is a string."]
            continue
        handle = handle.strip().removeprefix("@")
        if not SOCIAL_HANDLES[network].fullmatch(handle):
            errors[network] = ["Not a valid handle for this network."]
            continue
        cleaned[network] = handle
    if errors:
        raise InvalidInput("Some handles are not valid.", fields={"socials": errors})
    return cleaned


def clean_instagram_posts(value) -> list[str]:
    if not isinstance(value, list):
        raise InvalidInput("Expected a list.", fields={"instagram_posts": ["Expected a list of post URLs."]})
    if len(value) > INSTAGRAM_POSTS_MAX:
        raise InvalidInput("Too many posts.", fields={"instagram_posts": ["At most 10 posts."]})
    posts, bad = [], []
    for index, url in enumerate(value):
        url = str(url).strip() if isinstance(url, str) else ""
        if not INSTAGRAM_POST_URL.fullmatch(url):
            bad.append(index)
        elif url not in posts:
            posts.append(url)
    if bad:
        message = "Use instagram.com post or reel links (https://www.instagram.com/p/…)."
        raise InvalidInput(message, fields={"instagram_posts": {str(i): [message] for i in bad}})
    return posts
