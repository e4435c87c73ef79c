"""Status names in the SQL files come from the models: every literal the SQL compares with, or
writes to, a column whose model field has choices (users.access_status 'unpaid', ban_status
'temporary'/'permanent', call_invites.status, active_rooms.status, cooldowns.reason, ...) is a
value of that field's TextChoices, and what rdv_room_due returns is an end reason. A rename in
Python that forgets the SQL fails here, not in production.

Why a test and not parameters: the hot path's functions compare statuses in a dozen places;
passing each as a parameter would lengthen every call's signature (and its Python twin) for a
value that only changes with a migration, and a generated SQL view of the choices would cost a
join or a lookup per check. The names stay literals in the SQL, checked against the one place
they are defined."""

import re

from django.apps import apps
from django.contrib.postgres.fields import ArrayField

from chat.models import ActiveRoom
from config.sql_sources import all_sources

_COMMENT = re.compile(r"--[^\n]*")
_LITERAL = r"'(\w*)'"
# col = 'x', col <> 'x', col != 'x' (col possibly qualified: i.status, caller.access_status)
_COMPARED = re.compile(r"\b(\w+)\s*(?:=|<>|!=)\s*" + _LITERAL)
# col IN ('a', 'b') / col NOT IN (...)
_IN_LIST = re.compile(r"\b(\w+)\s+(?:NOT\s+)?IN\s*\(\s*('\w*'(?:\s*,\s*'\w*')*)\s*\)", re.IGNORECASE)
# col = CASE ... THEN 'x' ... ELSE 'y' ... END
_CASE = re.compile(r"\b(\w+)\s*=\s*CASE\b(.*?)\bEND\b", re.IGNORECASE | re.DOTALL)
_CASE_RESULT = re.compile(r"\b(?:THEN|ELSE)\s+" + _LITERAL, re.IGNORECASE)
# INSERT INTO t (a, b, ...) VALUES (x, 'y', ...)
_INSERT = re.compile(r"INSERT INTO\s+\w+\s*\(([^)]*)\)\s*VALUES\s*\(", re.IGNORECASE)


def _choices_by_column() -> dict[str, set[str]]:
    """Column name -> the values its field's choices allow, over every model (a name used by
    several tables, such as `status`, allows the union)."""
    allowed: dict[str, set[str]] = {}
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            base = field.base_field if isinstance(field, ArrayField) else field
            if base.choices:
                values = allowed.setdefault(field.column, set())
                values.update(str(value) for value, _ in base.flatchoices)
                if field.blank:  # '' is what a blank field holds (an open room's end_reason)
                    values.add("")
    return allowed


def _split_top_level(text: str) -> tuple[list[str], int]:
    """The comma-separated items of a parenthesised list starting after its "(", and where it ends."""
    items, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                items.append(text[start:i].strip())
                return items, i
            depth -= 1
        elif char == "," and depth == 0:
            items.append(text[start:i].strip())
            start = i + 1
    raise ValueError("unclosed VALUES list")


def status_literals(sql: str) -> list[tuple[str, str]]:
    """(column, literal) for each literal compared with or written to a named column."""
    sql = _COMMENT.sub("", sql)
    found = [(column, literal) for column, literal in _COMPARED.findall(sql)]
    for column, listed in _IN_LIST.findall(sql):
        found += [(column, literal) for literal in re.findall(_LITERAL, listed)]
    for column, body in _CASE.findall(sql):
        found += [(column, literal) for literal in _CASE_RESULT.findall(body)]
    for match in _INSERT.finditer(sql):
        columns = [c.strip() for c in match.group(1).split(",")]
        values, _ = _split_top_level(sql[match.end() :])
        found += [
            (column, value[1:-1])
            for column, value in zip(columns, values, strict=True)
            if re.fullmatch(_LITERAL, value)
        ]
    return found


def test_every_status_literal_in_the_sql_files_is_a_value_of_its_fields_choices():
    allowed = _choices_by_column()
    checked, wrong = 0, []
    for source in all_sources():
        for column, literal in status_literals(source.text):
            if column in allowed:
                checked += 1
                if literal not in allowed[column]:
                    wrong.append(f"{source.relative_path}: {column} '{literal}' (allowed: {sorted(allowed[column])})")
    assert not wrong, "status names in SQL that the models do not define:\n" + "\n".join(wrong)
    assert checked >= 25, f"the patterns found only {checked} status literals: did the SQL's shape change?"


def test_the_reasons_rdv_room_due_returns_are_end_reasons():
    """rdv_room_due's result becomes active_rooms.end_reason (rdv_end_room's p_reason)."""
    source = next(s for s in all_sources() if s.name == "rdv_room_due")
    returned = set(_CASE_RESULT.findall(_COMMENT.sub("", source.text)))
    assert returned and returned <= set(ActiveRoom.EndReason.values), returned


def test_a_renamed_status_is_caught():
    """The check itself: a literal that is not a value of its column's choices is reported."""
    sql = (
        "IF caller.access_status = 'not_paid' THEN RETURN; END IF;\n"
        "IF u.ban_status IN ('temporary', 'forever') THEN RETURN; END IF;\n"
        "INSERT INTO call_invites (id, status, created_at) VALUES (gen_random_uuid(), 'waiting', now());\n"
        "UPDATE users SET access_status = CASE WHEN x THEN 'qr_ok' ELSE access_status END;"
    )
    allowed = _choices_by_column()
    wrong = {(c, v) for c, v in status_literals(sql) if c in allowed and v not in allowed[c]}
    assert wrong == {
        ("access_status", "not_paid"),
        ("ban_status", "forever"),
        ("status", "waiting"),
        ("access_status", "qr_ok"),
    }


def test_the_status_literals_of_the_sql_files_are_found():
    """The patterns see the statuses the hot path compares (so the first test checks something)."""
    found = {pair for source in all_sources() for pair in status_literals(source.text)}
    assert {
        ("access_status", "unpaid"),
        ("ban_status", "temporary"),
        ("ban_status", "permanent"),
        ("status", "pending"),
        ("status", "ended"),
        ("status", "active"),
        ("reason", "session_end"),
        ("access_status", "qr_verified"),
    } <= found
