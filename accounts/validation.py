"""Profile field rules shared by serializers and services."""

import re
import unicodedata

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


def clean_name(value) -> str:
    name = " ".join(_visible(str(value or "")).split())
    if not 1 <= len(name) <= NAME_MAX:
        raise InvalidInput("Name must be 1 to 60 characters.", fields={"name": ["Name must be 1 to 60 characters."]})
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
