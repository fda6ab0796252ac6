"""HTML pages for case work: staff sign-in, queue and case page; party links."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from server import casework, i18n
from server.api.casework import (
    Suggestion,
    case_detail,
    may,
    party_link,
    queue_page,
)
from server.auth import Caller
from server.errors import DomainError, NotAuthenticated
from server.middleware import resolve_caller
from server.models import Case, CaseStatus, Role, User
from server.services import Services
from server.session_links import case_sessions
from server.templates import render

logger = logging.getLogger(__name__)


def _services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


async def _staff(request: Request) -> Caller | None:
    caller = await resolve_caller(request, _services(request))
    return caller if caller.is_staff else None


def _to_login(request: Request) -> Response:
    return RedirectResponse("/staff/login", status_code=303)


async def staff_login(request: Request) -> Response:
    """The staff sign-in form; signed-in staff go straight to their queue."""
    if await _staff(request) is not None:
        return RedirectResponse("/staff", status_code=303)
    return render(
        request, "staff_login.html", {"script_catalogue": _script_catalogue(request)}
    )


async def staff_queue(request: Request) -> Response:
    """The case officer's queue (a mediator's: their assigned cases)."""
    caller = await _staff(request)
    if caller is None:
        return _to_login(request)
    q = request.query_params
    filters = {
        "status": q.get("status") or None,
        "category": q.get("category") or None,
        "priority": q.get("priority") or None,
        "assigned": q.get("assigned") or None,
    }
    page = int(q["page"]) if q.get("page", "").isdigit() and int(q["page"]) else 1
    try:
        result = await queue_page(
            _services(request),
            caller,
            page=page,
            status=filters["status"],
            category=filters["category"],
            priority=filters["priority"],
            assigned=filters["assigned"],
        )
    except DomainError as exc:
        return render(
            request,
            "staff_queue.html",
            {"caller": caller, "filters": filters, "result": None, "error": exc},
            status=exc.status,
        )
    return render(
        request,
        "staff_queue.html",
        {
            "caller": caller,
            "filters": filters,
            "result": result,
            "statuses": list(CaseStatus),
            "priorities": casework.PRIORITIES,
            "script_catalogue": _script_catalogue(request),
        },
    )


async def staff_case(request: Request) -> Response:
    """One case, for staff: application, parties, evidence, actions, timeline."""
    caller = await _staff(request)
    if caller is None:
        return _to_login(request)
    services = _services(request)
    reference = request.path_params["ref"]
    try:
        detail = await case_detail(services, caller, reference)
    except DomainError as exc:
        return render(
            request,
            "staff_case.html",
            {"caller": caller, "case": None, "error": exc},
            status=exc.status,
        )

    suggestions = []
    links = []
    interpreters: list[User] = []
    actors = await _actor_names(services, detail.events)
    async with services.db.read() as session:
        case = await casework.load_case(session, reference)
        sessions = await case_sessions(session, case.id)
        if may(caller, "case.links"):
            links = [
                party_link(services, p)
                for p in await casework.parties_of(session, case)
            ]
        if may(caller, "case.assign"):
            ranked = await casework.suggest_mediators(session, case)
            suggestions = [
                Suggestion(
                    mediator_id=u.id,
                    name=u.name,
                    languages=[x for x in u.languages.split(",") if x],
                    language_matches=m,
                    open_cases=n,
                )
                for u, m, n in ranked
            ]
            interpreters = list(
                (
                    await session.execute(
                        select(User)
                        .where(User.role == Role.INTERPRETER, User.active.is_(True))
                        .order_by(User.name)
                    )
                ).scalars()
            )
    return render(
        request,
        "staff_case.html",
        {
            "caller": caller,
            "case": detail,
            "may_screen": may(caller, "case.screen")
            and detail.status in (CaseStatus.SUBMITTED, CaseStatus.INFO_REQUESTED),
            "may_classify": may(caller, "case.classify")
            and detail.status not in casework.FINAL_STATUSES,
            "may_assign": may(caller, "case.assign")
            and detail.status in (CaseStatus.ACCEPTED, CaseStatus.ASSIGNED),
            "may_verify": may(caller, "evidence.verify"),
            "suggestions": suggestions,
            "links": links,
            "actors": actors,
            "interpreters": interpreters,
            "case_id": case.id,
            "sessions": sessions,
            "may_sessions": may(caller, "session.manage")
            and detail.status not in casework.FINAL_STATUSES,
            "is_mediator": caller.user is not None
            and caller.user.role == Role.MEDIATOR,
            "may_close": may(caller, "case.close")
            and detail.status not in casework.FINAL_STATUSES,
            "priorities": casework.PRIORITIES,
            "complexities": casework.COMPLEXITIES,
            "script_catalogue": _script_catalogue(request),
        },
    )


async def _actor_names(services: Services, events: list[Any]) -> dict[str, str]:
    """Staff names for the ``user:<id>`` actors of a timeline."""
    ids = {
        int(e.actor.split(":", 1)[1])
        for e in events
        if e.actor.startswith("user:") and e.actor.split(":", 1)[1].isdigit()
    }
    if not ids:
        return {}
    async with services.db.read() as session:
        rows = await session.execute(select(User.id, User.name).where(User.id.in_(ids)))
        return {f"user:{uid}": name for uid, name in rows.all()}


async def party_case(request: Request) -> Response:
    """The party's view of their case: where it stands and what happened."""
    services = _services(request)
    caller = await resolve_caller(request, services)
    if caller.party is None:
        return render(
            request,
            "party_case.html",
            {"case": None, "error": NotAuthenticated("", code="link_invalid")},
            status=401,
        )
    detail = await case_detail(
        services,
        caller,
        (await _reference_of(services, caller.party.case_id)),
    )
    return render(
        request,
        "party_case.html",
        {
            "case": detail,
            "party": caller.party,
            "may_inform": may(caller, "case.inform")
            and detail.status == CaseStatus.INFO_REQUESTED
            and str(caller.party.role) == "claimant",
            "script_catalogue": _script_catalogue(request),
        },
    )


async def _reference_of(services: Services, case_id: int) -> str:
    async with services.db.read() as session:
        case = await session.get(Case, case_id)
    assert case is not None
    return case.reference


def _script_catalogue(request: Request) -> dict[str, str]:
    """The part of the catalogue the page's script shows (its messages)."""
    full = i18n.catalogue(i18n.request_language(request))
    return {k: v for k, v in full.items() if k.startswith("casework.js.")}


routes: list[BaseRoute] = [
    Route("/staff/login", staff_login, methods=["GET"], name="staff_login"),
    Route("/staff", staff_queue, methods=["GET"], name="staff_queue"),
    Route("/staff/cases/{ref}", staff_case, methods=["GET"], name="staff_case"),
    Route("/my-case", party_case, methods=["GET"], name="party_case"),
]
