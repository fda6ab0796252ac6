"""Builds ``/openapi.json`` from the endpoints declared with ``endpoint``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from starlette.routing import BaseRoute, Mount, Route

from server.api.base import EndpointSpec

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}


def iter_specs(routes: list[BaseRoute], prefix: str = "") -> list[EndpointSpec]:
    """Every endpoint spec reachable from the app's routes, with full paths."""
    found: list[EndpointSpec] = []
    for route in routes:
        if isinstance(route, Mount):
            found += iter_specs(list(route.routes), prefix + route.path)
        elif isinstance(route, Route) and hasattr(route, "spec"):
            spec: EndpointSpec = route.spec
            found.append(EndpointSpec(**{**spec.__dict__, "path": prefix + route.path}))
    return found


def _schema_ref(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def build_openapi(routes: list[BaseRoute], version: str) -> dict[str, Any]:
    """An OpenAPI 3.1 document describing every declared JSON endpoint."""
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for spec in iter_specs(routes):
        operation: dict[str, Any] = {
            "summary": spec.summary,
            "operationId": f"{spec.method.lower()}_{spec.path}".replace("/", "_")
            .replace("{", "")
            .replace("}", ""),
            "tags": spec.tags,
            "x-accord-action": spec.action,
            "responses": {
                "default": {
                    "description": "A refused request, with a stable error code",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/Error"}
                        }
                    },
                }
            },
        }
        names = [
            part[1:-1].split(":")[0]
            for part in spec.path.split("/")
            if part.startswith("{") and part.endswith("}")
        ]
        if names:
            operation["parameters"] = [
                {
                    "name": n,
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                }
                for n in names
            ]
        if spec.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {
                    spec.content_type: {"schema": _schema_ref(spec.body, components)}
                },
            }
        ok: dict[str, Any] = {"description": "Success"}
        if spec.response is not None:
            ok["content"] = {
                "application/json": {"schema": _schema_ref(spec.response, components)}
            }
        operation["responses"][str(spec.status)] = ok
        path = "/".join(
            part.split(":")[0] + ("}" if ":" in part else "")
            for part in spec.path.split("/")
        )
        paths.setdefault(path, {})[spec.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Accord", "version": version},
        "paths": paths,
        "components": {"schemas": components},
    }
