"""Small SQL building blocks shared by models (JSON shape checks in CHECK constraints)."""

from django.db.models import BooleanField, CharField, F, Func, IntegerField, Q, Value
from django.db.models.lookups import Exact, LessThanOrEqual


def jsonb_typeof(field: str) -> Func:
    return Func(F(field), function="jsonb_typeof", output_field=CharField())


def json_is(field: str, json_type: str) -> Exact:
    """CHECK condition: the JSON column holds a value of this JSON type (object, array, ...)."""
    return Exact(jsonb_typeof(field), Value(json_type))


def json_array_at_most(field: str, limit: int) -> LessThanOrEqual:
    """CHECK condition: the JSON array column has at most `limit` items (assumes it is an array)."""
    return LessThanOrEqual(Func(F(field), function="jsonb_array_length", output_field=IntegerField()), Value(limit))


def json_array_all_match(field: str, regex: str) -> Exact:
    """CHECK condition: every item of the JSON array column is a string matching `regex`
    (a jsonpath like_regex; no item of another type or shape exists)."""
    path = f'$[*] ? (@.type() != "string" || !(@ like_regex "{regex}"))'
    exists = Func(F(field), Value(path), function="jsonb_path_exists", output_field=BooleanField())
    return Exact(exists, Value(False))


def in_choices(field: str, choices) -> Q:
    """PostgreSQL ignores `choices=`; this CHECK makes the database refuse other values."""
    return Q(**{f"{field}__in": list(choices.values)})


HEX_SHA256 = r"^[0-9a-f]{64}$"
