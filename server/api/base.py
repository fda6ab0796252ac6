"""How an HTTP endpoint is declared: permission, body schema, OpenAPI entry.

Every JSON endpoint is built with ``endpoint(...)``. The decorator resolves
the caller, applies the permission table, enforces CSRF for cookie-borne
state changes, validates the body with pydantic, and records the route for
``/openapi.json``, so the published description cannot drift from the code.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server import permissions
from server.errors import DomainError, InvalidInput
from server.middleware import check_csrf, check_request_origin, resolve_caller

logger = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[Any]]

MAX_JSON_BYTES = 256 * 1024


@dataclass
class EndpointSpec:
    """What ``/openapi.json`` says about one route."""

    path: str
    method: str
    action: str
    summary: str
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    tags: list[str] = field(default_factory=list)
    content_type: str = "application/json"
    errors: tuple[str, ...] = ()


REGISTRY: list[EndpointSpec] = []


async def read_json(request: Request, model: type[BaseModel]) -> BaseModel:
    """Parse and validate a JSON body, refusing oversized or malformed input."""
    raw = await request.body()
    if len(raw) > MAX_JSON_BYTES:
        raise InvalidInput(
            f"The request body is {len(raw)} bytes; at most {MAX_JSON_BYTES} "
            "are accepted.",
            code="body_too_large",
        )
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        raise validation_error(exc) from None


def validation_error(exc: ValidationError) -> InvalidInput:
    """Turn pydantic's report into one InvalidInput naming the first bad field."""
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0] if errors else {"loc": (), "msg": "invalid"}
    where = ".".join(str(part) for part in first["loc"]) or None
    return InvalidInput(
        f"{where or 'body'}: {first['msg']}",
        code="invalid_input",
        field=where,
        details={
            "fields": [
                {
                    "field": ".".join(str(p) for p in e["loc"]),
                    "message": e["msg"],
                    "type": e["type"],
                }
                for e in errors
            ]
        },
    )


def json_response(result: Any, status: int = 200) -> Response:
    """Serialise a handler's result (model, list of models, dict or Response)."""
    if isinstance(result, Response):
        return result
    if isinstance(result, BaseModel):
        return JSONResponse(result.model_dump(mode="json"), status_code=status)
    if isinstance(result, list):
        return JSONResponse(
            [
                r.model_dump(mode="json") if isinstance(r, BaseModel) else r
                for r in result
            ],
            status_code=status,
        )
    return JSONResponse(result, status_code=status)


def endpoint(
    path: str,
    method: str,
    *,
    action: str,
    summary: str,
    body: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    tags: list[str] | None = None,
    content_type: str = "application/json",
    errors: tuple[str, ...] = (),
    csrf: bool = True,
) -> Callable[[Handler], Route]:
    """Declare a JSON endpoint; the handler gets (request, caller[, body]).

    ``csrf=False`` is for endpoints that check the token themselves (a
    multipart upload reads it from the form) or take no ambient credential.
    """
    permissions.rule_for(action)  # fail at import time for an unknown action
    spec = EndpointSpec(
        path=path,
        method=method.upper(),
        action=action,
        summary=summary,
        body=body,
        response=response,
        status=status,
        tags=tags or [],
        content_type=content_type,
        errors=errors,
    )
    REGISTRY.append(spec)

    def decorate(handler: Handler) -> Route:
        async def run(request: Request) -> Response:
            services = request.app.state.services
            await check_request_origin(request, services)
            caller = await resolve_caller(request, services)
            request.state.caller = caller
            permissions.check(caller, action)
            if csrf:
                await check_csrf(request)
            if body is not None:
                payload = await read_json(request, body)
                result = await handler(request, caller, payload)
            else:
                result = await handler(request, caller)
            return json_response(result, status)

        run.__name__ = handler.__name__
        run.__doc__ = handler.__doc__
        route = Route(path, run, methods=[spec.method], name=handler.__name__)
        route.spec = spec  # type: ignore[attr-defined]
        return route

    return decorate


def error_response(exc: DomainError) -> JSONResponse:
    """The JSON body and status for a refused request."""
    headers = {"Retry-After": "60"} if exc.status == 429 else None
    return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers)
