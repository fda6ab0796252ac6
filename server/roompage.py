"""The room page and the mediator console: `/room/{session_id}` in the browser."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import or_, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from server.auth import Caller
from server.errors import DomainError, NotFound
from server.media_pages import check_page
from server.middleware import resolve_caller
from server.models import Agreement, Case, EvidenceItem, MediationSession
from server.permissions import case_scope
from server.room_translation import page_info
from server.services import Services
from server.templates import render

logger = logging.getLogger(__name__)


async def _evidence(db: Any, caller: Caller, case: Case) -> list[dict[str, Any]]:
    """The evidence items the caller may offer to share: own side's or public."""
    query = select(EvidenceItem).where(EvidenceItem.case_id == case.id)
    if caller.party is not None:
        query = query.where(
            or_(
                EvidenceItem.private.is_(False),
                EvidenceItem.party_id == caller.party.id,
            )
        )
    rows = (await db.execute(query.order_by(EvidenceItem.id))).scalars()
    return [
        {"id": item.id, "name": item.original_name, "private": item.private}
        for item in rows
    ]


async def room_page(request: Request) -> Response:
    """The live room; the console too when the caller's seat is a mediator's."""
    services: Services = request.app.state.services
    console = request.url.path.endswith("/console")
    try:
        session_id = int(request.path_params["session_id"])
    except ValueError:
        return render(request, "room.html", {"refused": "not_found"}, status=404)

    caller = await resolve_caller(request, services)
    if caller.kind == "public":
        return render(request, "room.html", {"refused": "signed_out"}, status=401)
    try:
        async with services.db.read() as db:
            row = await db.get(MediationSession, session_id)
            case = await db.get(Case, row.case_id) if row is not None else None
            if row is None or case is None:
                raise NotFound("No such session.", code="session_not_found")
            case_scope(caller, "session.join", case)
            parties = [
                {"id": p.id, "role": str(p.role), "name": p.name}
                for p in sorted(case.parties, key=lambda p: p.id)
            ]
            evidence = await _evidence(db, caller, case)
            has_agreement = (
                await db.execute(
                    select(Agreement.id).where(Agreement.case_id == case.id).limit(1)
                )
            ).first() is not None
    except DomainError as exc:
        logger.info("room page %s refused: %s", session_id, exc.code)
        return render(request, "room.html", {"refused": "not_found"}, status=404)

    page = {
        "session_id": session_id,
        "case_reference": case.reference,
        "title": row.title,
        "console": console,
        "parties": parties,
        "evidence": evidence,
        # for the negotiation panel: money terms and whether closure happened
        "currency": case.currency or "CNY",
        "case_status": str(case.status),
        "closure_outcome": case.closure_outcome,
        "has_agreement": has_agreement,
        "translation": await page_info(services),
        "media": services.extras.get("media_page", {"enabled": False}),
    }
    return render(request, "room.html", {"page": page, "refused": None})


def room_routes() -> list[BaseRoute]:
    """The room page routes."""
    return [
        Route("/room/{session_id}", room_page, methods=["GET"], name="room"),
        Route(
            "/room/{session_id}/console",
            room_page,
            methods=["GET"],
            name="room_console",
        ),
        Route(
            "/room/{session_id}/check",
            check_page,
            methods=["GET"],
            name="room_check",
        ),
    ]
