"""The case officer's API: queue, screening, grading, assignment, party links."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import case as sql_case
from sqlalchemy import func, select
from starlette.requests import Request

from server import casework, permissions
from server.api.base import endpoint
from server.auth import Caller
from server.errors import DomainError, InvalidInput, NotFound
from server.models import Case, CaseEvent, CaseStatus, EvidenceItem, Party
from server.services import Services

logger = logging.getLogger(__name__)

MAX_PAGE = 100
CASE_ERRORS = ("case_not_found", "illegal_transition", "transition_forbidden")

# events a party sees on their own timeline, and the payload keys kept
PARTY_VISIBLE_EVENTS = {"case.filed", "case.status_changed", "evidence.added"}
PARTY_VISIBLE_KEYS = {"from", "to", "reason", "evidence_id"}


# -- schemas -------------------------------------------------------------------


class ScreeningBody(BaseModel):
    decision: Literal["accept", "reject", "request_info"]
    reason: str | None = Field(default=None, max_length=4000)

    @model_validator(mode="after")
    def _reason_when_needed(self) -> ScreeningBody:
        if self.decision != "accept" and not (self.reason or "").strip():
            raise ValueError("a reason is required to reject or to request information")
        return self


class ClassificationBody(BaseModel):
    category: str = Field(pattern=r"^[a-z0-9_\-]{1,40}$")
    priority: Literal["low", "normal", "high", "urgent"]
    complexity: Literal["simple", "standard", "complex"]


class AssignmentBody(BaseModel):
    mediator_id: int
    # omitted: keep the case's interpreters; [] removes them all
    interpreter_ids: list[int] | None = Field(default=None, max_length=10)


class InformationBody(BaseModel):
    information: str = Field(min_length=1, max_length=20000)


class CaseSummary(BaseModel):
    reference: str
    status: CaseStatus
    category: str
    priority: str
    complexity: str
    languages: list[str]
    mediator_id: int | None
    created_at: datetime
    updated_at: datetime


class CasePage(BaseModel):
    items: list[CaseSummary]
    total: int
    page: int
    per_page: int


class PartyOut(BaseModel):
    id: int
    role: str
    name: str
    email: str | None = None
    phone: str | None = None
    organisation: str | None = None
    language: str


class EvidenceOut(BaseModel):
    id: int
    party_id: int | None
    category: str
    description: str
    original_name: str
    content_type: str
    size: int
    sha256: str
    private: bool
    status: str
    status_note: str | None
    created_at: datetime


class EventOut(BaseModel):
    seq: int
    kind: str
    actor: str
    created_at: str
    payload: dict[str, Any]


class CaseDetail(CaseSummary):
    amount_minor: int | None
    currency: str | None
    facts: str
    desired_outcome: str
    language_of_record: str
    officer_id: int | None
    interpreter_ids: list[int]
    decision_reason: str | None
    next_statuses: list[str]
    parties: list[PartyOut]
    evidence: list[EvidenceOut]
    events: list[EventOut]


class StatusOut(BaseModel):
    reference: str
    status: CaseStatus
    event_seq: int


class Suggestion(BaseModel):
    mediator_id: int
    name: str
    languages: list[str]
    language_matches: int
    open_cases: int


class PartyLink(BaseModel):
    party_id: int
    role: str
    name: str
    email: str | None
    language: str
    link_version: int
    link: str


# -- helpers -------------------------------------------------------------------


def wake_mailer(services: Services) -> None:
    """Have this process's outbox sender look for the mail just committed."""
    mailer = services.extras.get("mailer")
    if mailer is not None:
        mailer.wake()


def summary(case: Case) -> CaseSummary:
    return CaseSummary(
        reference=case.reference,
        status=case.status,
        category=case.category,
        priority=case.priority,
        complexity=case.complexity,
        languages=list(case.languages or []),
        mediator_id=case.mediator_id,
        created_at=case.created_at,
        updated_at=case.updated_at,
    )


def may(caller: Caller, action: str) -> bool:
    """Whether the permission table lets this caller's kind attempt the action."""
    try:
        permissions.check(caller, action)
    except DomainError:
        return False
    return True


def priority_rank() -> Any:
    """An SQL expression ordering urgent first, low last."""
    return sql_case(
        {p: i for i, p in enumerate(casework.PRIORITIES)},
        value=Case.priority,
        else_=len(casework.PRIORITIES),
    )


async def case_detail(services: Services, caller: Caller, reference: str) -> CaseDetail:
    """Everything about a case that this caller may see."""
    async with services.db.read() as session:
        case = await casework.case_for(session, caller, "case.read", reference)
        parties = await casework.parties_of(session, case)
        evidence: list[EvidenceItem] = []
        if may(caller, "evidence.read"):
            evidence = list(
                (
                    await session.execute(
                        select(EvidenceItem)
                        .where(EvidenceItem.case_id == case.id)
                        .order_by(EvidenceItem.id)
                    )
                ).scalars()
            )
        events = list(
            (
                await session.execute(
                    select(CaseEvent)
                    .where(CaseEvent.case_id == case.id)
                    .order_by(CaseEvent.seq)
                )
            ).scalars()
        )

    own = caller.party
    if own is not None:
        # a party sees the other side's name but not their contacts, and
        # never the other side's private evidence
        evidence = [e for e in evidence if not e.private or e.party_id == own.id]
        events = [e for e in events if e.kind in PARTY_VISIBLE_EVENTS]
    party_rows = [
        PartyOut(
            id=p.id,
            role=str(p.role),
            name=p.name,
            language=p.language,
            **(
                {"email": p.email, "phone": p.phone, "organisation": p.organisation}
                if own is None or own.id == p.id
                else {}
            ),
        )
        for p in parties
    ]
    return CaseDetail(
        **summary(case).model_dump(),
        amount_minor=case.amount_minor,
        currency=case.currency,
        facts=case.facts,
        desired_outcome=case.desired_outcome,
        language_of_record=case.language_of_record,
        officer_id=case.officer_id,
        interpreter_ids=list(case.interpreter_ids or []),
        decision_reason=case.decision_reason,
        next_statuses=sorted(casework.next_statuses(case.status)),
        parties=party_rows,
        evidence=[
            EvidenceOut(
                id=e.id,
                party_id=e.party_id,
                category=e.category,
                description=e.description,
                original_name=e.original_name,
                content_type=e.content_type,
                size=e.size,
                sha256=e.sha256,
                private=e.private,
                status=str(e.status),
                status_note=e.status_note,
                created_at=e.created_at,
            )
            for e in evidence
        ],
        events=[
            EventOut(
                seq=e.seq,
                kind=e.kind,
                actor=e.actor if own is None else e.actor.split(":")[0],
                created_at=e.created_at,
                payload=e.payload
                if own is None
                else {k: v for k, v in e.payload.items() if k in PARTY_VISIBLE_KEYS},
            )
            for e in events
        ],
    )


async def queue_page(
    services: Services,
    caller: Caller,
    *,
    status: str | None = None,
    category: str | None = None,
    priority: str | None = None,
    assigned: str | None = None,
    page: int = 1,
    per_page: int = 25,
) -> CasePage:
    """One page of the caller's queue, most urgent first, then oldest first."""
    query = select(Case)
    if status:
        try:
            wanted = [CaseStatus(s) for s in status.split(",") if s]
        except ValueError:
            raise InvalidInput(
                f"status must be among {', '.join(CaseStatus)}, got {status!r}",
                code="invalid_input",
                field="status",
            ) from None
        query = query.where(Case.status.in_(wanted))
    if category:
        query = query.where(Case.category == category)
    if priority:
        query = query.where(Case.priority == priority)
    if assigned == "yes":
        query = query.where(Case.mediator_id.is_not(None))
    elif assigned == "no":
        query = query.where(Case.mediator_id.is_(None))
    elif assigned == "me" and caller.user is not None:
        query = query.where(Case.mediator_id == caller.user.id)
    elif assigned:
        if not assigned.isdigit():
            raise InvalidInput(
                f"assigned must be yes, no, me or a mediator id, got {assigned!r}",
                code="invalid_input",
                field="assigned",
            )
        query = query.where(Case.mediator_id == int(assigned))
    # object-level scope: mediators see their assigned cases only
    if caller.kind == permissions.MEDIATOR and caller.user is not None:
        query = query.where(Case.mediator_id == caller.user.id)
    query = query.order_by(priority_rank(), Case.created_at, Case.id)

    async with services.db.read() as session:
        if caller.kind == permissions.INTERPRETER:
            rows = [
                c
                for c in (await session.execute(query)).scalars()
                if permissions.may_see_case(caller, c)
            ]
            total = len(rows)
            rows = rows[(page - 1) * per_page : page * per_page]
        else:
            total = int(
                (
                    await session.execute(
                        select(func.count()).select_from(query.subquery())
                    )
                ).scalar_one()
            )
            rows = list(
                (
                    await session.execute(
                        query.offset((page - 1) * per_page).limit(per_page)
                    )
                ).scalars()
            )
    return CasePage(
        items=[summary(c) for c in rows], total=total, page=page, per_page=per_page
    )


def _int_param(request: Request, name: str, default: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= high:
        raise InvalidInput(
            f"{name} must be a whole number from 1 to {high}, got {raw!r}",
            code="invalid_input",
            field=name,
        )
    return int(raw)


# -- endpoints -----------------------------------------------------------------


@endpoint(
    "/cases",
    "GET",
    action="case.list",
    summary="The case queue (?status=&category=&priority=&assigned=&page=)",
    response=CasePage,
    tags=["casework"],
    errors=("invalid_input",),
)
async def list_cases(request: Request, caller: Caller) -> CasePage:
    """The caller's queue: every case for officers, assigned ones for mediators."""
    q = request.query_params
    return await queue_page(
        request.app.state.services,
        caller,
        status=q.get("status"),
        category=q.get("category"),
        priority=q.get("priority"),
        assigned=q.get("assigned"),
        page=_int_param(request, "page", 1, 1_000_000),
        per_page=_int_param(request, "per_page", 25, MAX_PAGE),
    )


@endpoint(
    "/cases/{ref}/screening",
    "POST",
    action="case.screen",
    summary="Accept, reject or ask the claimant for more information",
    body=ScreeningBody,
    response=StatusOut,
    tags=["casework"],
    errors=CASE_ERRORS,
)
async def screen_case(
    request: Request, caller: Caller, body: ScreeningBody
) -> StatusOut:
    """The case officer's screening decision."""
    services: Services = request.app.state.services
    target = {
        "accept": CaseStatus.ACCEPTED,
        "reject": CaseStatus.REJECTED,
        "request_info": CaseStatus.INFO_REQUESTED,
    }[body.decision]
    async with services.db.write() as session:
        case = await casework.case_for(
            session, caller, "case.screen", request.path_params["ref"], lock=True
        )
        event = await casework.transition(
            services,
            session,
            case,
            target,
            caller,
            reason=(body.reason or "").strip() or None,
        )
    wake_mailer(services)
    return StatusOut(reference=case.reference, status=case.status, event_seq=event.seq)


@endpoint(
    "/cases/{ref}/classification",
    "POST",
    action="case.classify",
    summary="Set category, priority and complexity",
    body=ClassificationBody,
    response=CaseSummary,
    tags=["casework"],
    errors=("case_not_found", "case_final"),
)
async def classify_case(
    request: Request, caller: Caller, body: ClassificationBody
) -> CaseSummary:
    """Grade a case."""
    services: Services = request.app.state.services
    async with services.db.write() as session:
        case = await casework.case_for(
            session, caller, "case.classify", request.path_params["ref"], lock=True
        )
        await casework.classify(
            services,
            session,
            case,
            caller,
            category=body.category,
            priority=body.priority,
            complexity=body.complexity,
        )
    wake_mailer(services)
    return summary(case)


@endpoint(
    "/cases/{ref}/assignment",
    "POST",
    action="case.assign",
    summary="Assign a mediator (and interpreters)",
    body=AssignmentBody,
    response=StatusOut,
    tags=["casework"],
    errors=(*CASE_ERRORS, "not_a_mediator", "not_an_interpreter"),
)
async def assign_case(
    request: Request, caller: Caller, body: AssignmentBody
) -> StatusOut:
    """Assign an active mediator; the case moves to assigned."""
    services: Services = request.app.state.services
    async with services.db.write() as session:
        case = await casework.case_for(
            session, caller, "case.assign", request.path_params["ref"], lock=True
        )
        event = await casework.assign(
            services,
            session,
            case,
            caller,
            mediator_id=body.mediator_id,
            interpreter_ids=body.interpreter_ids,
        )
    wake_mailer(services)
    return StatusOut(reference=case.reference, status=case.status, event_seq=event.seq)


@endpoint(
    "/cases/{ref}/mediator-suggestions",
    "GET",
    action="case.assign",
    summary="Active mediators ranked by shared language, then load",
    tags=["casework"],
    errors=("case_not_found",),
)
async def mediator_suggestions(request: Request, caller: Caller) -> list[Suggestion]:
    """Who could mediate this case, best first."""
    services: Services = request.app.state.services
    async with services.db.read() as session:
        case = await casework.case_for(
            session, caller, "case.assign", request.path_params["ref"]
        )
        ranked = await casework.suggest_mediators(session, case)
    return [
        Suggestion(
            mediator_id=user.id,
            name=user.name,
            languages=[x for x in user.languages.split(",") if x],
            language_matches=matches,
            open_cases=load,
        )
        for user, matches, load in ranked
    ]


@endpoint(
    "/cases/{ref}/links",
    "GET",
    action="case.links",
    summary="Each party's current personal link",
    tags=["casework"],
    errors=("case_not_found",),
)
async def party_links(request: Request, caller: Caller) -> list[PartyLink]:
    """The links the case officer can pass on to the parties."""
    services: Services = request.app.state.services
    async with services.db.read() as session:
        case = await casework.case_for(
            session, caller, "case.links", request.path_params["ref"]
        )
        parties = await casework.parties_of(session, case)
    return [party_link(services, p) for p in parties]


def party_link(services: Services, party: Party) -> PartyLink:
    return PartyLink(
        party_id=party.id,
        role=str(party.role),
        name=party.name,
        email=party.email,
        language=party.language,
        link_version=party.link_version,
        link=casework.party_link_url(services, party),
    )


@endpoint(
    "/cases/{ref}/parties/{party_id:int}/links/revoke",
    "POST",
    action="case.links",
    summary="Revoke a party's links; a new one is mailed to them",
    response=PartyLink,
    tags=["casework"],
    errors=("case_not_found", "party_not_found"),
)
async def revoke_party_links(request: Request, caller: Caller) -> PartyLink:
    """Every link issued to the party so far stops working at once."""
    services: Services = request.app.state.services
    async with services.db.write() as session:
        case = await casework.case_for(
            session, caller, "case.links", request.path_params["ref"], lock=True
        )
        party = await session.get(Party, request.path_params["party_id"])
        if party is None or party.case_id != case.id:
            raise NotFound("No such party in this case.", code="party_not_found")
        await casework.revoke_links(services, session, case, party, caller)
    wake_mailer(services)
    return party_link(services, party)


@endpoint(
    "/cases/{ref}/information",
    "POST",
    action="case.inform",
    summary="The claimant answers a request for information",
    body=InformationBody,
    response=StatusOut,
    tags=["casework"],
    errors=CASE_ERRORS,
)
async def provide_information(
    request: Request, caller: Caller, body: InformationBody
) -> StatusOut:
    """Moves the case from info_requested back to submitted."""
    services: Services = request.app.state.services
    async with services.db.write() as session:
        case = await casework.case_for(
            session, caller, "case.inform", request.path_params["ref"], lock=True
        )
        event = await casework.provide_information(
            services, session, case, caller, information=body.information
        )
    wake_mailer(services)
    return StatusOut(reference=case.reference, status=case.status, event_seq=event.seq)


routes = [
    list_cases,
    screen_case,
    classify_case,
    assign_case,
    mediator_suggestions,
    party_links,
    revoke_party_links,
    provide_information,
]
