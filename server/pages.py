"""HTML pages of the web client; each page module adds its routes here."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from server.roompage import room_routes
from server.templates import render


async def home(request: Request) -> Response:
    """The landing page."""
    return render(request, "home.html")


def page_routes() -> list[BaseRoute]:
    """Every HTML page route."""
    from server import casework_pages, intake_pages
    from server.negotiation_pages import negotiation_page_routes

    return [
        Route("/", home, methods=["GET"], name="home"),
        *intake_pages.routes,
        *casework_pages.routes,
        *room_routes(),
        *negotiation_page_routes(),
    ]
