"""The OpenAPI document as the service answers: every 4xx and 5xx response carries the one error shape the
service sends (:class:`supervision.core.errors.ErrorBody`, ``{"error", "detail", "problems"}``), in place of
FastAPI's ``HTTPValidationError``, and each operation lists the error codes it can answer with: 422 for any
parameter or body, 413 for a body, 401 and 403 behind a sign-in or key, 404 for a path naming something,
429 behind a rate limit."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from supervision.core.errors import ErrorBody
from supervision.web.deps import RateLimit

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
DESCRIPTIONS = {
    401: "not signed in, or no valid key",
    403: "signed in, but not allowed to do this",
    404: "no such thing",
    413: "the body is larger than the limit",
    422: "the request is not valid: every problem listed with where it is",
    429: "too many requests from this address; see Retry-After",
}


NO_NUL = "^[^\\u0000]*$"
"""The pattern of every text value the service takes: no NUL character (refused at the door, ``inputs``)."""


def _text_without_nul(node: Any) -> None:
    """Document, on every string schema below ``node`` that has no pattern, format or fixed values of its
    own, that a NUL character is refused (422): the door refuses it in every JSON string, path and query."""
    if isinstance(node, dict):
        if node.get("type") == "string" and not ({"pattern", "format", "enum", "const"} & node.keys()):
            node["pattern"] = NO_NUL
        for value in node.values():
            _text_without_nul(value)
    elif isinstance(node, list):
        for value in node:
            _text_without_nul(value)


def _calls(dependant: Dependant) -> Iterator[Any]:
    for dep in dependant.dependencies:
        yield dep.call
        yield from _calls(dep)


def _has_params(dependant: Dependant) -> bool:
    if dependant.path_params or dependant.query_params or dependant.header_params or dependant.cookie_params:
        return True
    if dependant.body_params:
        return True
    return any(_has_params(d) for d in dependant.dependencies)


def api_routes(app: FastAPI) -> Iterator[RouteContext]:
    """Every API route of ``app`` as it is served (prefix, tags and dependencies of its router applied)."""
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            yield context


def error_codes(route: RouteContext, auth: Iterable[Callable[..., Any]]) -> set[int]:
    """The error codes ``route`` can answer with, beyond those it documents itself."""
    calls = list(_calls(route.dependant))
    codes: set[int] = set()
    has_body = route.body_field is not None or "requestBody" in (route.openapi_extra or {})
    if _has_params(route.dependant) or has_body:
        codes.add(422)
    if has_body:
        codes.add(413)
    if route.dependant.path_params:
        codes.add(404)
    auth_calls = set(auth)
    if any(c in auth_calls for c in calls):
        codes |= {401, 403}
    if any(isinstance(c, RateLimit) and c.refuse is not None for c in calls):
        codes.add(429)
    return codes


def install(app: FastAPI, auth: Iterable[Callable[..., Any]]) -> None:
    """Make ``app.openapi`` build the document described above. ``auth``: the dependencies that sign a
    caller in (a route depending on one may answer 401 and 403)."""
    auth = tuple(auth)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        _text_without_nul(components)  # not the error body's: a problem may name what was refused
        error_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(error_schema.pop("$defs", {}))
        components["ErrorBody"] = error_schema
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        extra: dict[tuple[str, str], set[int]] = {}
        for route in api_routes(app):
            if route.include_in_schema and route.path_format is not None:
                for method in route.methods or ():
                    extra[(route.path_format, method.lower())] = error_codes(route, auth)
        for path, item in schema.get("paths", {}).items():
            for method, operation in item.items():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                responses: dict[str, Any] = operation["responses"]
                for number in sorted(extra.get((path, method), set())):
                    responses.setdefault(str(number), {"description": DESCRIPTIONS[number]})
                for code, response in responses.items():
                    if code == "default" or code.startswith(("4", "5")):
                        response["content"] = {"application/json": {"schema": ERROR_REF}}
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                for parameter in operation.get("parameters", ()):
                    _text_without_nul(parameter.get("schema"))
                body = operation.get("requestBody", {}).get("content", {}).get("application/json")
                if body:
                    _text_without_nul(body.get("schema"))
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
