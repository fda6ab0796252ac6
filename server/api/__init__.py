"""The JSON API: each module declares its endpoints with ``endpoint``."""

from __future__ import annotations

from starlette.routing import BaseRoute


def api_routes() -> list[BaseRoute]:
    """Every JSON API route, gathered from the API modules."""
    from server.api import negotiation, staff

    return [*staff.routes, *negotiation.routes]
