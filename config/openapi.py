"""OpenAPI post-processing (drf-spectacular POSTPROCESSING_HOOKS): the schema tells the truth
about errors. Every 4xx response documents the one error body (config/api.py builds it), and
the refusals any operation can give are listed on each operation they can reach:

- 400 `malformed`/`invalid` wherever a body or query parameters are read;
- 401 wherever a session token is required; 403 (`banned`, `ip_banned`, `no_access`) there too;
- 404 on a path that names a resource; 405 `method_not_allowed` never (only listed methods are
  routed); 415 `unsupported_media_type` wherever a body is read;
- 429 wherever a throttle applies (the views declare it)."""

ERROR_SCHEMA = {
    "type": "object",
    "description": "The one error body of every refusal (4xx): a stable `code` to branch on.",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "stable, e.g. invalid, not_authenticated, banned"},
                "message": {"type": "string", "description": "a sentence for people"},
                "fields": {
                    "type": "object",
                    "description": "per-field messages (with `invalid`)",
                    "additionalProperties": True,
                },
                "retry_after": {"type": "integer", "minimum": 1, "description": "seconds (with 429)"},
                "ban_status": {"type": "string", "description": "with `banned`"},
                "access_status": {"type": "string", "description": "with `no_access`"},
            },
            "additionalProperties": True,
        }
    },
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
DESCRIPTIONS = {
    "400": "Invalid input (`invalid` with `fields`, `malformed`, or a domain code)",
    "401": "Not authenticated (`not_authenticated`, `invalid_token`, `account_expired`)",
    "403": "Refused (`banned` with `ban_status`, `ip_banned`, `no_access`, …)",
    "404": "Not found",
    "409": "Conflicts with the current state",
    "410": "Gone",
    "413": "Too large",
    "415": "Unsupported media type (`unsupported_media_type`)",
    "429": "Rate limited (`rate_limited` with `retry_after`; also the Retry-After header)",
}
METHODS = {"get", "put", "post", "patch", "delete"}


def _requires_token(operation: dict) -> bool:
    security = operation.get("security")
    return bool(security) and {} not in security


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            reads_input = "requestBody" in operation or any(
                p.get("in") == "query" for p in operation.get("parameters", [])
            )
            wanted = set()
            if reads_input:
                wanted.add("400")
            if "requestBody" in operation:
                wanted.add("415")
            if _requires_token(operation):
                wanted |= {"401", "403"}
            if "{" in path or any(p.get("name") == "cursor" for p in operation.get("parameters", [])):
                wanted.add("404")  # a path naming a resource; DRF's cursor pagination: "Invalid cursor"
            for status in wanted:
                responses.setdefault(status, {"description": DESCRIPTIONS[status]})
            for status, response in responses.items():
                if str(status).startswith("4"):
                    response["content"] = {"application/json": {"schema": ERROR_REF}}
                    if not response.get("description"):
                        response["description"] = DESCRIPTIONS.get(str(status), "Refused")
                    if str(status) == "429":
                        response.setdefault("headers", {})["Retry-After"] = {
                            "schema": {"type": "integer", "minimum": 1},
                            "description": "seconds to wait",
                        }
    return result


# DRF's CharField refuses NUL characters in any string it reads ("Null characters are not
# allowed."): the schema says so on every free-text string it does not already constrain.
NO_NUL = "^[^\\x00]*$"


def _forbid_nul(node) -> None:
    if isinstance(node, dict):
        if node.get("type") == "string" and not ({"format", "pattern", "enum"} & node.keys()):
            node["pattern"] = NO_NUL
        for value in node.values():
            _forbid_nul(value)
    elif isinstance(node, list):
        for value in node:
            _forbid_nul(value)


def forbid_nul_characters(result, generator, request, public):
    _forbid_nul(result.get("components", {}).get("schemas", {}))
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict):
                _forbid_nul(operation.get("parameters", []))
                _forbid_nul(operation.get("requestBody", {}))
    return result
