"""The translation glossary over HTTP: server-wide and per-case terms (staff)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from starlette.requests import Request

from server.api.base import endpoint
from server.auth import Caller
from server.casework import case_for
from server.errors import NotFound
from server.glossary import add_term, delete_term, entry_dict, list_terms
from server.services import Services

TAGS = ["translation"]


class TermCreate(BaseModel):
    # a phrase in the source language, and how every translation renders it;
    # rendering null keeps the phrase exactly as written (a name, a product)
    term: str = Field(min_length=1, max_length=200)
    rendering: str | None = Field(default=None, max_length=200)
    source: str = Field(min_length=2, max_length=35)
    # null: the rendering applies whatever the target language
    target: str | None = Field(default=None, max_length=35)


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _term_id(request: Request) -> int:
    try:
        return int(request.path_params["term_id"])
    except (KeyError, ValueError):
        raise NotFound("No such glossary term.", code="term_not_found") from None


@endpoint(
    "/glossary",
    "GET",
    action="glossary.read",
    summary="The server-wide glossary terms",
    tags=TAGS,
)
async def server_terms(request: Request, caller: Caller) -> dict[str, Any]:
    """Every server-wide term, oldest first."""
    async with _services(request).db.read() as db:
        rows = await list_terms(db, None)
    return {"terms": [entry_dict(row) for row in rows]}


@endpoint(
    "/glossary",
    "POST",
    action="glossary.manage",
    summary="Add a server-wide glossary term",
    body=TermCreate,
    status=201,
    tags=TAGS,
    errors=("invalid_language", "invalid_term", "term_exists"),
)
async def create_server_term(
    request: Request, caller: Caller, body: TermCreate
) -> dict[str, Any]:
    """A term every case's translations apply (unless the case has its own)."""
    async with _services(request).db.write() as db:
        row = await add_term(
            db,
            case_id=None,
            source=body.source,
            target=body.target,
            term=body.term,
            rendering=body.rendering,
            actor=caller.actor,
        )
        return entry_dict(row)


@endpoint(
    "/glossary/{term_id:int}",
    "DELETE",
    action="glossary.manage",
    summary="Remove a server-wide glossary term",
    tags=TAGS,
    errors=("term_not_found",),
)
async def remove_server_term(request: Request, caller: Caller) -> dict[str, Any]:
    """Remove the term; lines translated from now on no longer apply it."""
    term_id = _term_id(request)
    async with _services(request).db.write() as db:
        await delete_term(db, term_id, None, caller.actor)
    return {"deleted": term_id}


@endpoint(
    "/cases/{ref}/glossary",
    "GET",
    action="glossary.case_read",
    summary="A case's own glossary terms",
    tags=TAGS,
    errors=("case_not_found",),
)
async def case_terms(request: Request, caller: Caller) -> dict[str, Any]:
    """The case's terms (which override server-wide ones for the same phrase)."""
    async with _services(request).db.read() as db:
        case = await case_for(
            db, caller, "glossary.case_read", request.path_params["ref"]
        )
        rows = await list_terms(db, case.id)
    return {"case": case.reference, "terms": [entry_dict(row) for row in rows]}


@endpoint(
    "/cases/{ref}/glossary",
    "POST",
    action="glossary.case_manage",
    summary="Add a glossary term for one case",
    body=TermCreate,
    status=201,
    tags=TAGS,
    errors=("case_not_found", "invalid_language", "invalid_term", "term_exists"),
)
async def create_case_term(
    request: Request, caller: Caller, body: TermCreate
) -> dict[str, Any]:
    """A term (a name, a product, a legal term) for this case's translations."""
    async with _services(request).db.write() as db:
        case = await case_for(
            db, caller, "glossary.case_manage", request.path_params["ref"]
        )
        row = await add_term(
            db,
            case_id=case.id,
            source=body.source,
            target=body.target,
            term=body.term,
            rendering=body.rendering,
            actor=caller.actor,
        )
        return entry_dict(row)


@endpoint(
    "/cases/{ref}/glossary/{term_id:int}",
    "DELETE",
    action="glossary.case_manage",
    summary="Remove a glossary term of one case",
    tags=TAGS,
    errors=("case_not_found", "term_not_found"),
)
async def remove_case_term(request: Request, caller: Caller) -> dict[str, Any]:
    """Remove one of the case's terms."""
    term_id = _term_id(request)
    async with _services(request).db.write() as db:
        case = await case_for(
            db, caller, "glossary.case_manage", request.path_params["ref"]
        )
        await delete_term(db, term_id, case.id, caller.actor)
    return {"deleted": term_id}


routes = [
    server_terms,
    create_server_term,
    remove_server_term,
    case_terms,
    create_case_term,
    remove_case_term,
]
