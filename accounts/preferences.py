"""Who I want to meet: the API's words and the stored values (users.meet_genders, meet_modes).

Clients say `women`, `men`, `nonbinary` (any of them) or `everyone`; the column stores the
`users.gender` values those mean. Everyone is every gender, `unspecified` included, so a
person who chose not to say their gender is met only by people who want to meet everyone.
Modes are `text` and `video` (at least one). chat.reel and rdv_send_invite apply both
mutually; the default is everyone and both modes."""

from accounts.models import MEET_MODES, UserGender, meet_everyone
from config.errors import InvalidInput

EVERYONE = "everyone"
GENDER_WORDS = {"women": UserGender.FEMALE, "men": UserGender.MALE, "nonbinary": UserGender.NONBINARY}
MEET_GENDER_CHOICES = (*GENDER_WORDS, EVERYONE)


def _clean_list(value, field: str, choices) -> list[str]:
    if not isinstance(value, list) or not value:
        raise InvalidInput("Choose at least one.", fields={field: [f"A non-empty list of {', '.join(choices)}."]})
    if any(not isinstance(item, str) or item not in choices for item in value):
        raise InvalidInput("Unknown choice.", fields={field: [f"Each item is one of {', '.join(choices)}."]})
    if len(set(value)) != len(value):
        raise InvalidInput("A choice is repeated.", fields={field: ["Each choice at most once."]})
    return value


def check_meet_genders(value) -> list[str]:
    """The API's list, checked (the serializer's part; the words stay words)."""
    return _clean_list(value, "meet_genders", MEET_GENDER_CHOICES)


def clean_meet_genders(value) -> list[str]:
    """The API's list → the stored gender values (`everyone` anywhere in it means everyone)."""
    words = check_meet_genders(value)
    if EVERYONE in words:
        return meet_everyone()
    return sorted(GENDER_WORDS[word] for word in words)


def clean_meet_modes(value) -> list[str]:
    return sorted(_clean_list(value, "meet_modes", MEET_MODES))


def meet_genders_words(stored) -> list[str]:
    """The stored gender values → the API's words (every gender is ["everyone"])."""
    if set(stored) >= set(meet_everyone()):
        return [EVERYONE]
    return [word for word, gender in GENDER_WORDS.items() if gender in stored]
