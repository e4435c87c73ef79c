"""Request body parsers for the REST API (settings.REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]).
A module of its own: rest_framework.views reads that setting when it is imported, so the parser
cannot live in a module that imports rest_framework.views (config.api)."""

from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with a body nested too deeply for Python's decoder (`[` × 30,000: a
    RecursionError, which DRF does not catch) refused as 400 `malformed` like any bad JSON."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from exc
