"""Watched-word patterns: how a moderator's word becomes a regular expression, and the checks
that refuse a pattern before it is saved (invalid, too long, or open to catastrophic
backtracking, which would let one chat message stall a server process)."""

import re
import subprocess
import sys

from regexploit.ast.sre import SreOpParser
from regexploit.redos import find as find_redos

MAX_PATTERN = 100
# A pattern must finish on each adversarial input within this long (a separate process, killed
# at the deadline: Python's re cannot be interrupted).
TRIAL_SECONDS = 1.0
TRIAL_LENGTH = 40


class PatternError(ValueError):
    """A sentence for the moderator: why the pattern is refused."""


def word_body(pattern: str) -> str:
    """The regex of a plain word or phrase without its word boundaries; `*` is any letters."""
    return r"\w*".join(re.escape(part) for part in pattern.strip().split("*"))


def whole_words(bodies: list[str]) -> str:
    """One regex for several plain words: the boundaries are checked once per position, then the
    alternatives (much cheaper than one boundary-wrapped group per word)."""
    return rf"(?<!\w)(?:{'|'.join(bodies)})(?!\w)"


def to_regex(pattern: str, *, is_regex: bool) -> str:
    """A plain word or phrase matches whole words case-insensitively, `*` standing for any
    letters (Discourse's watched words); a regex is used as written."""
    return pattern if is_regex else whole_words([word_body(pattern)])


def _trial_inputs(regex: str) -> list[str]:
    letters = sorted({c for c in regex if c.isalnum()} | {"a", "0", " "})[:12]
    return [c * TRIAL_LENGTH + "!" for c in letters] + ["".join(letters) * 4 + "!"]


def _trial_runs_in_time(regex: str) -> bool:
    code = "import re,sys\np=re.compile(sys.argv[1], re.IGNORECASE)\nfor s in sys.argv[2:]: p.search(s)\n"
    try:
        subprocess.run(  # noqa: S603 - our interpreter; the pattern is an argument, never a shell
            [sys.executable, "-c", code, regex, *_trial_inputs(regex)],
            timeout=TRIAL_SECONDS + 2.0,  # + the interpreter's start
            check=True,
            capture_output=True,
        )
    except subprocess.TimeoutExpired:
        return False
    except subprocess.CalledProcessError:
        return False
    return True


def validate_pattern(pattern: str, *, is_regex: bool) -> str:
    """The regex for `pattern`, or PatternError with a sentence the moderator understands."""
    if not pattern or not pattern.strip():
        raise PatternError("Write a word, a phrase or a pattern.")
    if len(pattern) > MAX_PATTERN:
        raise PatternError(f"At most {MAX_PATTERN} characters.")
    if not is_regex and not re.search(r"\w", pattern):
        raise PatternError("A word needs at least one letter or digit.")
    regex = to_regex(pattern, is_regex=is_regex)
    try:
        compiled = re.compile(regex, re.IGNORECASE)
    except re.error as exc:
        raise PatternError(f"Not a valid regular expression: {exc}.") from exc
    if compiled.search(""):
        raise PatternError("The pattern matches an empty message; it would catch everything.")
    try:
        parsed = SreOpParser().parse_sre(regex, re.IGNORECASE)
        risky = any(redos.starriness > 2 for redos in find_redos(parsed))
    except Exception:  # noqa: BLE001 - regexploit does not know every construct: the timed trial decides
        risky = False
    if risky or not _trial_runs_in_time(regex):
        raise PatternError(
            "This pattern can take exponential time on some messages (nested or overlapping repeats such as "
            "(a+)+ or (a|aa)+). Rewrite it without repeating a repeat."
        )
    return regex
