"""Filing a dispute (public) and reading a case (its parties and staff)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from starlette.requests import Request

from server import permissions
from server.api.base import endpoint
from server.auth import Caller
from server.errors import TooManyRequests
from server.evidence import case_evidence
from server.intake import FilingIn, file_case, find_case, format_amount, party_link_path
from server.models import Case, CaseEvent, EvidenceItem, Party, PartyRole
from server.services import Services
from server.throttle import Throttle

# filings per client address per hour: generous for a family or a shop
# filing several disputes, low enough to stop a script flooding the queue
FILINGS_PER_HOUR = 20


class FiledOut(BaseModel):
    """What the claimant gets back: the reference and their personal link."""

    reference: str
    status: str
    case_url: str
    party_id: int
    # the claimant's link token: /p/{token} opens the case page; it is also
    # accepted as a Bearer token, e.g. to upload evidence right after filing
    token: str
    link: str
    link_url: str


class PartyOut(BaseModel):
    """A party as the caller may see them."""

    id: int
    role: PartyRole
    name: str
    organisation: str | None = None
    language: str
    # contact details: only for staff and for the party themselves
    email: str | None = None
    phone: str | None = None
    is_you: bool = False


class TimelineEntry(BaseModel):
    """One event of the case's log, without its payload."""

    seq: int
    kind: str
    actor: str
    actor_role: str
    at: str
    # staff only: what the event recorded (a party sees kinds and times)
    payload: dict[str, Any] | None = None


class EvidenceOut(BaseModel):
    """An evidence item as listed on the case page."""

    id: int
    original_name: str
    content_type: str
    size: int
    sha256: str
    category: str
    description: str
    private: bool
    status: str
    status_note: str | None
    uploaded_by: str
    uploaded_at: datetime
    download_url: str


class CaseOut(BaseModel):
    """A case as the caller may see it."""

    reference: str
    status: str
    category: str
    priority: str
    amount: str | None
    amount_minor: int | None
    currency: str | None
    facts: str
    desired_outcome: str
    languages: list[str]
    created_at: datetime
    mediator_id: int | None
    officer_id: int | None
    you: PartyOut | None
    parties: list[PartyOut]
    timeline: list[TimelineEntry]
    evidence: list[EvidenceOut]


def actor_role(actor: str, parties: dict[int, Party], event_kind: str = "") -> str:
    """How an event-log actor is shown: claimant, respondent, staff or public."""
    kind, _, ident = actor.partition(":")
    if kind == "public" and event_kind == "case.filed":
        return PartyRole.CLAIMANT.value  # a filing without an account
    if kind == "party" and ident.isdigit() and int(ident) in parties:
        return parties[int(ident)].role.value
    if kind == "user":
        return "staff"
    return kind


def evidence_out(
    case: Case, item: EvidenceItem, parties: dict[int, Party]
) -> EvidenceOut:
    """The listing entry of one item."""
    if item.party_id is not None:
        uploaded_by = (
            parties[item.party_id].role.value if item.party_id in parties else "party"
        )
    else:
        uploaded_by = "staff"
    return EvidenceOut(
        id=item.id,
        original_name=item.original_name,
        content_type=item.content_type,
        size=item.size,
        sha256=item.sha256,
        category=item.category,
        description=item.description,
        private=item.private,
        status=item.status.value,
        status_note=item.status_note,
        uploaded_by=uploaded_by,
        uploaded_at=item.created_at,
        download_url=f"/api/cases/{case.reference}/evidence/{item.id}",
    )


def _party_out(party: Party, caller: Caller) -> PartyOut:
    mine = caller.party is not None and caller.party.id == party.id
    show_contacts = caller.is_staff or mine
    return PartyOut(
        id=party.id,
        role=party.role,
        name=party.name,
        organisation=party.organisation,
        language=party.language,
        email=party.email if show_contacts else None,
        phone=party.phone if show_contacts else None,
        is_you=mine,
    )


async def case_view(services: Services, caller: Caller, reference: str) -> CaseOut:
    """The case as ``caller`` may see it (permission ``case.read``, scoped)."""
    async with services.db.read() as session:
        case = await find_case(session, reference)
        permissions.case_scope(caller, "case.read", case)
        parties = {p.id: p for p in case.parties}
        may_read_evidence = caller.kind in permissions.rule_for("evidence.read").allowed
        items = await case_evidence(session, caller, case) if may_read_evidence else []
        events = list(
            (
                await session.execute(
                    select(CaseEvent)
                    .where(CaseEvent.case_id == case.id)
                    .order_by(CaseEvent.seq)
                )
            ).scalars()
        )

    visible_items = {item.id for item in items}
    timeline = [
        TimelineEntry(
            seq=event.seq,
            kind=event.kind,
            # a party learns which side or desk acted, not staff account ids
            actor=event.actor if caller.user is not None else event.actor.split(":")[0],
            actor_role=actor_role(event.actor, parties, event.kind),
            at=event.created_at,
            payload=dict(event.payload) if caller.user is not None else None,
        )
        for event in events
        # an event about an item the caller may not see would reveal it
        if not event.kind.startswith("evidence.")
        or event.payload.get("evidence_id") in visible_items
    ]
    you = _party_out(caller.party, caller) if caller.party is not None else None
    return CaseOut(
        reference=case.reference,
        status=case.status.value,
        category=case.category,
        priority=case.priority,
        amount=format_amount(case.amount_minor, case.currency),
        amount_minor=case.amount_minor,
        currency=case.currency,
        facts=case.facts,
        desired_outcome=case.desired_outcome,
        languages=list(case.languages),
        created_at=case.created_at,
        mediator_id=case.mediator_id,
        officer_id=case.officer_id,
        you=you,
        parties=[_party_out(p, caller) for p in parties.values()],
        timeline=timeline,
        evidence=[evidence_out(case, item, parties) for item in items],
    )


def _filing_throttle(services: Services) -> Throttle:
    found = services.extras.get("filing_throttle")
    if found is None:
        found = Throttle("filing-ip", FILINGS_PER_HOUR, 3600, services.redis)
        services.extras["filing_throttle"] = found
    return found


@endpoint(
    "/cases",
    "POST",
    action="case.file",
    summary="File a dispute",
    body=FilingIn,
    response=FiledOut,
    status=201,
    tags=["intake"],
    errors=(
        "invalid_input",
        "consent_required",
        "unknown_category",
        "contact_required",
        "unsupported_language",
        "respondent_is_claimant",
        "invalid_amount",
        "amount_precision",
        "currency_required",
        "unsupported_currency",
        "rate_limited",
    ),
)
async def file_dispute(request: Request, caller: Caller, body: FilingIn) -> FiledOut:
    """File a dispute; no account needed. Returns the claimant's personal link."""
    services: Services = request.app.state.services
    if not caller.is_staff:
        client_ip = request.client.host if request.client else "unknown"
        if not await _filing_throttle(services).hit(client_ip):
            raise TooManyRequests(
                "Too many disputes were filed from this address in the last "
                "hour; try again later.",
                code="rate_limited",
            )
    case, tokens = await file_case(services, body, caller)
    claimant = next(p for p in case.parties if p.role is PartyRole.CLAIMANT)
    token = tokens[claimant.id]
    link = party_link_path(token)
    return FiledOut(
        reference=case.reference,
        status=case.status.value,
        case_url=f"/case/{case.reference}",
        party_id=claimant.id,
        token=token,
        link=link,
        link_url=services.settings.public_url.rstrip("/") + link,
    )


@endpoint(
    "/cases/{ref}",
    "GET",
    action="case.read",
    summary="A case with its parties, timeline and evidence",
    response=CaseOut,
    tags=["intake"],
    errors=("case_not_found",),
)
async def read_case(request: Request, caller: Caller) -> CaseOut:
    """The case as the caller may see it."""
    services: Services = request.app.state.services
    return await case_view(services, caller, request.path_params["ref"])


routes = [file_dispute, read_case]
