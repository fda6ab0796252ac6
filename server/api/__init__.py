"""The JSON API: each module declares its endpoints with ``endpoint``."""

from __future__ import annotations

from starlette.routing import BaseRoute


def api_routes() -> list[BaseRoute]:
    """Every JSON API route, gathered from the API modules."""
    from server.api import (
        casework,
        evidence,
        glossary,
        intake,
        negotiation,
        sessions,
        staff,
        translation,
    )

    return [
        *staff.routes,
        *intake.routes,
        *evidence.routes,
        *casework.routes,
        *sessions.routes,
        *negotiation.routes,
        *glossary.routes,
        *translation.routes,
    ]
