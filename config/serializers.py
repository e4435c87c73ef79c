"""The base of every JSON request body serializer: JSON types are taken as the schema states
them. DRF's fields coerce (a CharField takes 0 as "0", a FloatField takes false as 0.0, an
IntegerField takes "5"), so a request the OpenAPI schema calls invalid would be accepted; here
a value of the wrong JSON type is refused with the field's own "invalid" message first."""

from rest_framework import serializers

# A visible character and no NUL anywhere: what DRF's CharField refuses (blank once the spaces
# around are trimmed; NUL), stated as a pattern so that the schema says it too.
VISIBLE_TEXT = r"^[^\x00]*[^\s\x00][^\x00]*$"

# The JSON types each field class accepts (bool is not a number here, as in JSON).
_TYPES = (
    (serializers.BooleanField, (bool,)),
    (serializers.IntegerField, (int,)),
    (serializers.FloatField, (int, float)),
    (serializers.DecimalField, (int, float)),
    (serializers.ChoiceField, (str,)),
    (serializers.CharField, (str,)),  # also Email, Regex, Slug, URL, UUID fields
    (serializers.UUIDField, (str,)),
    (serializers.ListField, (list,)),
    (serializers.DictField, (dict,)),
    (serializers.JSONField, (object,)),
)


def _json_types(field) -> tuple[type, ...] | None:
    for cls, types in _TYPES:
        if isinstance(field, cls):
            return types
    return None


class StrictInput(serializers.Serializer):
    def to_internal_value(self, data):
        if isinstance(data, dict):
            errors = {}
            for name, field in self.fields.items():
                if field.read_only or name not in data or data[name] is None:
                    continue
                types = _json_types(field)
                value = data[name]
                if types and (not isinstance(value, types) or (isinstance(value, bool) and bool not in types)):
                    errors[name] = [f"Expected {_describe(types)}."]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


def _describe(types) -> str:
    names = {
        bool: "true or false",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }
    return " or ".join(dict.fromkeys(names.get(t, "a value") for t in types))


class StrictQuery(serializers.Serializer):
    """The base of query-string serializers: a parameter the schema does not list, or a blank
    value, is refused (DRF would ignore the one and read the other as "not given")."""

    def to_internal_value(self, data):
        unknown = sorted(set(data) - set(self.fields))
        blank = sorted(name for name in self.fields if name in data and data.get(name) == "")
        if unknown or blank:
            errors = {name: ["Unknown query parameter."] for name in unknown}
            errors |= {name: ["This may not be blank."] for name in blank}
            raise serializers.ValidationError(errors)
        return super().to_internal_value(data)
