"""The OpenAPI description's error answers, which drf-spectacular leaves out: every operation may answer them.

Bodies are DRF's (``{"detail": ...}``, or field → messages for a form that does not validate) or, for a few
endpoints, a message with the problems listed; the schema says "an object" and the status code says which."""

ERRORS = {
    "400": "The request is malformed or does not validate; the body says what is wrong.",
    "401": "No credentials, or a token that is unknown or revoked.",
    "403": "The caller's role may not do this; the body names the role needed.",
    "404": "Nothing by that name or id (or, for lists, no such page).",
    "409": "The request conflicts with the object's state (e.g. already decided, already serving).",
    "413": "The body is larger than the server accepts.",
    "415": "The body's content type is not one this endpoint reads.",
}
ERROR_BODY = {"application/json": {"schema": {"type": "object", "additionalProperties": True}}}


def document_errors(result, generator, request, public):
    """drf-spectacular postprocessing hook: add the error answers to every operation that does not list them."""
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for code, description in ERRORS.items():
                operation["responses"].setdefault(code, {"description": description, "content": ERROR_BODY})
    return result
