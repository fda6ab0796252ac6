"""HTML pages of the settlement flow: agreement, opinion, closure, feedback."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from server import i18n, settlement
from server.api.negotiation import agreement_dict, load_case
from server.auth import Caller
from server.errors import DomainError, NotFound
from server.middleware import resolve_caller
from server.models import CaseStatus
from server.services import Services
from server.templates import render

NEGOTIATION_CSS = "/static/css/negotiation.css"


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _refused(request: Request, exc: DomainError) -> Response:
    lang = i18n.request_language(request)
    status = exc.status if exc.status in (401, 403, 404) else 400
    return render(
        request,
        "negotiation/refused.html",
        {"message": exc.message, "title": i18n.text(lang, "error.title")},
        status=status,
    )


async def _caller(request: Request) -> Caller:
    return await resolve_caller(request, _services(request))


async def agreement_page(request: Request) -> Response:
    """Preview and signing for parties; countersigning and drafting for staff."""
    caller = await _caller(request)
    lang = i18n.request_language(request)
    try:
        async with _services(request).db.read() as db:
            case = await load_case(
                db, request.path_params["ref"], caller, "agreement.read"
            )
            try:
                view = await settlement.view_agreement(db, case)
                agreement: dict[str, Any] | None = agreement_dict(view, case, lang)
            except NotFound:
                agreement = None
    except DomainError as exc:
        return _refused(request, exc)

    me = caller.actor if caller.party is not None else None
    signed = bool(
        agreement
        and any(
            s["signer"] == me or (caller.user is not None and s["role"] == "mediator")
            for s in agreement["signatures"]
        )
    )
    missing = []
    if agreement:
        names = {f"party:{p.id}": p.name for p in case.parties}
        missing = [
            names.get(m, i18n.text(lang, "negotiation.role.mediator"))
            for m in agreement["missing"]
        ]
    return render(
        request,
        "negotiation/agreement.html",
        {
            "case": case,
            "agreement": agreement,
            "caller_kind": caller.kind,
            "is_party": caller.party is not None,
            "is_mediator": caller.kind == "mediator",
            "may_draft": caller.kind in ("admin", "case_officer", "mediator"),
            "signed": signed,
            "missing": missing,
            "closed": case.status == CaseStatus.CLOSED,
            "css": NEGOTIATION_CSS,
        },
    )


async def opinion_page(request: Request) -> Response:
    """The mediator's opinion editor."""
    caller = await _caller(request)
    try:
        async with _services(request).db.read() as db:
            case = await load_case(
                db, request.path_params["ref"], caller, "opinion.write"
            )
            opinion = await settlement.current_opinion(db, case)
    except DomainError as exc:
        return _refused(request, exc)
    lang = i18n.request_language(request)
    fields: dict[str, Any]
    if opinion is None or opinion.status == "issued":
        fields = settlement.opinion_template(
            case,
            case.language_of_record
            if case.language_of_record in i18n.LANGUAGES
            else lang,
        )
        if opinion is not None:
            fields |= {
                "facts": opinion.facts,
                "analysis": opinion.analysis,
                "recommendation": opinion.recommendation,
                "language": opinion.language,
            }
    else:
        fields = {
            "language": opinion.language,
            "facts": opinion.facts,
            "analysis": opinion.analysis,
            "recommendation": opinion.recommendation,
        }
    return render(
        request,
        "negotiation/opinion.html",
        {
            "case": case,
            "opinion": opinion,
            "fields": fields,
            "css": NEGOTIATION_CSS,
            "closed": case.status == CaseStatus.CLOSED,
        },
    )


async def closure_page(request: Request) -> Response:
    """The closure dialog for the mediator or the case officer."""
    caller = await _caller(request)
    try:
        async with _services(request).db.read() as db:
            case = await load_case(db, request.path_params["ref"], caller, "case.close")
            agreement = await settlement.agreement_of(db, case)
    except DomainError as exc:
        return _refused(request, exc)
    return render(
        request,
        "negotiation/closure.html",
        {
            "case": case,
            "outcomes": settlement.OUTCOMES,
            "agreement_completed": bool(agreement and agreement.status == "completed"),
            "closed": case.status == CaseStatus.CLOSED,
            "css": NEGOTIATION_CSS,
        },
    )


async def feedback_page(request: Request) -> Response:
    """The survey (and compliance confirmation) after closure."""
    caller = await _caller(request)
    try:
        async with _services(request).db.read() as db:
            case = await load_case(
                db, request.path_params["ref"], caller, "feedback.submit"
            )
    except DomainError as exc:
        return _refused(request, exc)
    return render(
        request,
        "negotiation/feedback.html",
        {
            "case": case,
            "closed": case.status == CaseStatus.CLOSED,
            "may_confirm": caller.party is not None
            and case.closure_outcome in ("settled", "partly_settled"),
            "css": NEGOTIATION_CSS,
        },
    )


def negotiation_page_routes() -> list[BaseRoute]:
    """The settlement pages, added to server/pages.py."""
    return [
        Route(
            "/case/{ref}/agreement",
            agreement_page,
            methods=["GET"],
            name="agreement_page",
        ),
        Route(
            "/case/{ref}/opinion", opinion_page, methods=["GET"], name="opinion_page"
        ),
        Route(
            "/case/{ref}/closure", closure_page, methods=["GET"], name="closure_page"
        ),
        Route(
            "/case/{ref}/feedback", feedback_page, methods=["GET"], name="feedback_page"
        ),
    ]
