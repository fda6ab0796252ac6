"""The intake pages: the application form, personal links and the case page."""

from __future__ import annotations

import logging

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from server import i18n, permissions
from server.api.intake import case_view
from server.auth import PARTY_COOKIE, PARTY_LINK_MAX_AGE
from server.errors import DomainError, NotAuthenticated
from server.evidence import CLOSED_STATUSES
from server.intake import CATEGORIES, CURRENCIES
from server.middleware import resolve_caller
from server.models import Case, CaseStatus, Party
from server.services import Services
from server.session_links import party_rooms
from server.templates import render
from server.uploads import CATEGORIES as EVIDENCE_CATEGORIES

logger = logging.getLogger(__name__)

# the currencies offered first in the form; the rest follow alphabetically
COMMON_CURRENCIES = ("CNY", "HKD", "USD", "EUR", "GBP", "JPY")


def human_size(size: int) -> str:
    """A byte count as people read it (3.2 MB)."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


async def file_form(request: Request) -> Response:
    """The public application form."""
    services: Services = request.app.state.services
    currencies = list(COMMON_CURRENCIES) + sorted(
        c for c in CURRENCIES if c not in COMMON_CURRENCIES
    )
    return render(
        request,
        "intake/file.html",
        {
            "categories": CATEGORIES,
            "currencies": currencies,
            "evidence_categories": EVIDENCE_CATEGORIES,
            "max_file": human_size(services.settings.storage.max_file_bytes),
        },
    )


async def open_link(request: Request) -> Response:
    """A party's personal link: remember it in a cookie, then show the case.

    The token is moved into an httponly cookie and the browser is sent on to
    a URL without it, so it does not linger in the address bar or history.
    """
    services: Services = request.app.state.services
    token = request.path_params["token"]
    try:
        data = services.signer.unsign("party", token, PARTY_LINK_MAX_AGE)
        async with services.db.read() as session:
            party = (
                await session.execute(
                    select(Party).where(Party.id == int(data.get("p", 0)))
                )
            ).scalar_one_or_none()
            case = await session.get(Case, party.case_id) if party else None
            reference = case.reference if case is not None else None
        if (
            party is None
            or reference is None
            or party.case_id != data.get("c")
            or party.link_version != data.get("v")
        ):
            raise NotAuthenticated("revoked", code="token_invalid")
    except (NotAuthenticated, ValueError, TypeError):
        logger.info("a personal link was refused")
        refused = render(request, "intake/link_invalid.html", status=401)
        refused.headers["Cache-Control"] = "no-store"
        return refused

    logger.info("party %s opened their link to case %s", party.id, party.case_id)
    response = RedirectResponse(f"/case/{reference}", status_code=303)
    response.set_cookie(
        PARTY_COOKIE,
        token,
        max_age=PARTY_LINK_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=services.settings.public_url.startswith("https://"),
        path="/",
    )
    # a party who never chose a language sees their pages in the one they filed in
    language = i18n.normalise(party.language)
    if language is not None and not request.cookies.get(i18n.LANG_COOKIE):
        response.set_cookie(
            i18n.LANG_COOKIE,
            language,
            max_age=365 * 86400,
            samesite="lax",
            secure=services.settings.public_url.startswith("https://"),
            path="/",
        )
    response.headers["Cache-Control"] = "no-store"
    return response


async def case_page(request: Request) -> Response:
    """The case as its party (or staff) sees it, with evidence upload."""
    services: Services = request.app.state.services
    reference = request.path_params["ref"]
    caller = await resolve_caller(request, services)
    try:
        view = await case_view(services, caller, reference)
    except DomainError as exc:
        status = exc.status if exc.status in (401, 403, 404) else 400
        return render(
            request,
            "intake/case_unavailable.html",
            {"code": exc.code, "message": exc.message},
            status=status,
        )
    may_upload = caller.kind in permissions.rule_for("evidence.upload").allowed
    open_case = CaseStatus(view.status) not in CLOSED_STATUSES
    rooms = []
    if caller.party is not None and open_case:
        async with services.db.read() as db:
            rooms = await party_rooms(db, caller.party.id)
    response = render(
        request,
        "intake/case.html",
        {
            "case": view,
            "you": view.you,
            "rooms": rooms,
            "may_upload": may_upload and open_case,
            "evidence_categories": EVIDENCE_CATEGORIES,
            "max_file": human_size(services.settings.storage.max_file_bytes),
            "human_size": human_size,
        },
    )
    response.headers["Cache-Control"] = "no-store"
    return response


routes: list[BaseRoute] = [
    Route("/file", file_form, methods=["GET"], name="file_form"),
    Route("/p/{token}", open_link, methods=["GET"], name="party_link"),
    Route("/case/{ref}", case_page, methods=["GET"], name="case_page"),
]
