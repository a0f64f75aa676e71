"""OpenAPI post-processing: the answers every operation can give, documented once.

Found by the schemathesis run (tests/security/test_fuzz_schema.py): these statuses reach clients
from middleware and DRF machinery outside any one view, so per-view ``extend_schema`` would have
to repeat them everywhere and a new view would forget them.
"""

from __future__ import annotations

_ERROR_REF = {"$ref": "#/components/schemas/Error"}
_METHODS = ("get", "post", "put", "patch", "delete")
# Views with a ``throttle_scope`` (see REST_FRAMEWORK's DEFAULT_THROTTLE_RATES).
_THROTTLED = {("/api/v1/auth/token/", "post"), ("/api/v1/photos/", "post")}


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ERROR_REF}}}


def add_common_responses(result: dict, generator, request, public) -> dict:
    """drf-spectacular POSTPROCESSING_HOOKS entry."""
    if "Error" not in result.get("components", {}).get("schemas", {}):
        return result
    for path, item in result.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            # diary.middleware: the database unreachable, or the audit event not writable.
            responses.setdefault("503", _error("Briefly unavailable; nothing was stored"))
            if "requestBody" in operation or any(
                p.get("in") == "query" for p in operation.get("parameters", [])
            ):
                # diary.api.errors: an id in a body or a filter that names nothing visible.
                responses.setdefault("404", _error("An id names nothing you may see"))
            if "requestBody" in operation:
                responses.setdefault("409", _error("Clashes with an existing row (a duplicate)"))
                responses.setdefault("413", _error("The request body is too large"))
                responses.setdefault("415", _error("Unsupported request content type"))
            query = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
            if query:
                # diary.middleware.BlankQueryParameterMiddleware: ``?name=`` is refused.
                responses.setdefault("400", _error("Invalid input (a blank query parameter)"))
                for parameter in query:
                    _not_blank(parameter.get("schema", {}))
            if any(p.get("name") == "page" for p in query):
                responses.setdefault("404", _error("No such page (or not found)"))
            if (path, method) in _THROTTLED:
                responses.setdefault("429", _error("Too many requests; see Retry-After"))
    _allow_blank_emails(result["components"]["schemas"])
    _text_rules(result["components"]["schemas"])
    return result


# DRF's CharField refuses NUL characters, and trims whitespace (Python's str.strip()) before it
# checks for blanks. The whitespace is spelled out rather than written ``\s``: regex engines
# disagree on ``\s`` (ECMA's lacks \x1c-\x1f and \x85, which str.strip() removes, and has
# \ufeff, which it keeps), and a client validating with one of them would disagree with us.
_PYTHON_WHITESPACE = (
    "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029"
    "\\u202f\\u205f\\u3000"
)
_NO_NUL = "^[^\\x00]*$"
_NOT_BLANK = f"^[^\\x00]*[^{_PYTHON_WHITESPACE}\\x00][^\\x00]*$"


def _text_rules(schemas: dict) -> None:
    """Say in the request bodies what DRF checks on every string: found by schemathesis's
    "positive data acceptance" check, which sent ``"\\u0000"`` and ``" "`` as valid text."""
    for name, component in schemas.items():
        if not name.endswith("Request"):  # COMPONENT_SPLIT_REQUEST: the bodies clients send
            continue
        for prop in component.get("properties", {}).values():
            if prop.get("format") == "binary":
                prop.setdefault("minLength", 1)  # an empty file is refused ("empty")
            if prop.get("type") != "string" or "format" in prop or "enum" in prop:
                continue
            prop.setdefault("pattern", _NOT_BLANK if prop.get("minLength", 0) > 0 else _NO_NUL)


def _not_blank(schema: dict) -> None:
    if schema.get("type") == "string" and "enum" not in schema and "format" not in schema:
        schema.setdefault("minLength", 1)


def _allow_blank_emails(schemas: dict) -> None:
    # Accounts may have no e-mail address: the model's EmailField is blank=True, so "" is a
    # value the API really returns, which ``format: email`` alone would call invalid.
    for component in schemas.values():
        for prop in component.get("properties", {}).values():
            if prop.get("format") == "email":
                prop.pop("format")
                prop["anyOf"] = [{"format": "email"}, {"maxLength": 0}]
