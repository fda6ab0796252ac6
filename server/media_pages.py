"""The device check page: camera preview, microphone level, device choice."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from server.errors import DomainError, NotFound
from server.middleware import resolve_caller
from server.models import Case, MediationSession
from server.permissions import case_scope
from server.services import Services
from server.templates import render

logger = logging.getLogger(__name__)


async def check_page(request: Request) -> Response:
    """``/room/{id}/check``: try your devices before joining; nothing is sent."""
    services: Services = request.app.state.services
    try:
        session_id = int(request.path_params["session_id"])
    except ValueError:
        return render(request, "room_check.html", {"refused": "not_found"}, 404)

    caller = await resolve_caller(request, services)
    if caller.kind == "public":
        return render(request, "room_check.html", {"refused": "signed_out"}, 401)
    try:
        async with services.db.read() as db:
            row = await db.get(MediationSession, session_id)
            case = await db.get(Case, row.case_id) if row is not None else None
            if row is None or case is None:
                raise NotFound("No such session.", code="session_not_found")
            case_scope(caller, "session.join", case)
            reference = case.reference
    except DomainError as exc:
        logger.info("device check %s refused: %s", session_id, exc.code)
        return render(request, "room_check.html", {"refused": "not_found"}, 404)

    page = {
        "session_id": session_id,
        "case_reference": reference,
        "room_url": f"/room/{session_id}",
        "media": services.extras.get("media_page", {"enabled": False}),
    }
    return render(request, "room_check.html", {"page": page, "refused": None})
