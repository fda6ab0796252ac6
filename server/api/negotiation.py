"""Offers, bids, opinion, agreement and signing, closure, compliance, feedback."""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from server import agreement_text, negotiation, settlement
from server.api.base import endpoint
from server.auth import Caller
from server.errors import NotFound
from server.models import BidRound, Case, MediationSession, Offer, Opinion
from server.permissions import case_scope
from server.room_negotiation import announce
from server.services import Services

logger = logging.getLogger(__name__)

TAGS = ["negotiation"]


class OpinionBody(BaseModel):
    language: Literal["en", "zh-CN"]
    facts: str = Field(max_length=20_000)
    analysis: str = Field(max_length=20_000)
    recommendation: str = Field(max_length=20_000)


class GenerateBody(BaseModel):
    offer_id: int | None = None


class ReviseBody(BaseModel):
    additional: str = Field(max_length=4000)


class SignBody(BaseModel):
    typed_name: str = Field(min_length=1, max_length=200)
    consent: bool
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class ClosureBody(BaseModel):
    outcome: Literal[
        "settled", "partly_settled", "not_settled", "withdrawn", "referred"
    ]
    reason: str = Field(default="", max_length=4000)
    report: str = Field(default="", max_length=20_000)


class ComplianceBody(BaseModel):
    note: str = Field(default="", max_length=1000)


class FeedbackBody(BaseModel):
    satisfaction: int = Field(ge=1, le=5)
    fairness: int = Field(ge=1, le=5)
    ease_of_use: int = Field(ge=1, le=5)
    would_use_again: bool
    comment: str = Field(default="", max_length=4000)


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def load_case(db: AsyncSession, ref: str, caller: Caller, action: str) -> Case:
    """The case by reference, if the caller may take ``action`` on it."""
    case = (
        await db.execute(select(Case).where(Case.reference == ref))
    ).scalar_one_or_none()
    if case is None:
        raise NotFound("No such case.", code="case_not_found")
    case_scope(caller, action, case)
    return case


async def _session_case(
    db: AsyncSession, session_id: int, caller: Caller, action: str
) -> Case:
    session = await db.get(MediationSession, session_id)
    if session is None:
        raise NotFound("No such session.", code="session_not_found")
    case = await db.get(Case, session.case_id)
    assert case is not None
    case_scope(caller, action, case)
    return case


def _party_id(caller: Caller) -> int | None:
    return caller.party.id if caller.party is not None else None


def _staff_sees_all(caller: Caller) -> bool:
    return caller.kind in ("admin", "case_officer", "mediator")


# -- offers and bids ------------------------------------------------------------


@endpoint(
    "/sessions/{session_id:int}/offers",
    "GET",
    action="offer.read",
    summary="The offers of a session the caller may see",
    tags=TAGS,
    errors=("session_not_found", "case_not_found"),
)
async def list_offers(request: Request, caller: Caller) -> list[dict[str, Any]]:
    """Every offer of the session visible to the caller, oldest first."""
    async with _services(request).db.read() as db:
        case = await _session_case(
            db, request.path_params["session_id"], caller, "offer.read"
        )
        rows = list(
            (
                await db.execute(
                    select(Offer)
                    .where(Offer.session_id == request.path_params["session_id"])
                    .order_by(Offer.id)
                )
            ).scalars()
        )
    parties = frozenset(p.id for p in case.parties)
    shown = negotiation.visible_offers(
        rows, parties, _party_id(caller), _staff_sees_all(caller)
    )
    return [negotiation.offer_dict(o) for o in shown]


@endpoint(
    "/offers/{offer_id:int}/thread",
    "GET",
    action="offer.read",
    summary="An offer's thread of counter-offers",
    tags=TAGS,
    errors=("offer_not_found",),
)
async def offer_thread(request: Request, caller: Caller) -> list[dict[str, Any]]:
    """The offers answering one another, oldest first, as far as visible."""
    async with _services(request).db.read() as db:
        offer = await db.get(Offer, request.path_params["offer_id"])
        if offer is None:
            raise NotFound("No such offer.", code="offer_not_found")
        case = await db.get(Case, offer.case_id)
        assert case is not None
        case_scope(caller, "offer.read", case)
        rows = list(
            (await db.execute(select(Offer).where(Offer.case_id == case.id))).scalars()
        )
    parties = frozenset(p.id for p in case.parties)
    shown = negotiation.visible_offers(
        rows, parties, _party_id(caller), _staff_sees_all(caller)
    )
    if offer not in shown:
        raise NotFound("No such offer.", code="offer_not_found")
    return [negotiation.offer_dict(o) for o in negotiation.thread_of(shown, offer.id)]


@endpoint(
    "/sessions/{session_id:int}/bids",
    "GET",
    action="bid.read",
    summary="The caller's view of each blind bid of a session",
    tags=TAGS,
    errors=("session_not_found",),
)
async def list_bids(request: Request, caller: Caller) -> list[dict[str, Any]]:
    """Parties see progress and outcome only; staff see the mediator's view."""
    async with _services(request).db.read() as db:
        await _session_case(db, request.path_params["session_id"], caller, "bid.read")
        bids = list(
            (
                await db.execute(
                    select(BidRound)
                    .where(BidRound.session_id == request.path_params["session_id"])
                    .order_by(BidRound.id)
                )
            ).scalars()
        )
        out = []
        for bid in bids:
            state = await negotiation.bid_state(db, bid)
            view = negotiation.bid_view_for(
                state, bid.id, _party_id(caller), _staff_sees_all(caller)
            )
            if view is not None:
                out.append(view)
    return out


# -- opinion --------------------------------------------------------------------


def _opinion_dict(opinion: Any) -> dict[str, Any]:
    return {
        "id": opinion.id,
        "status": opinion.status,
        "language": opinion.language,
        "facts": opinion.facts,
        "analysis": opinion.analysis,
        "recommendation": opinion.recommendation,
        "issued_at": opinion.issued_at.isoformat() if opinion.issued_at else None,
        "sha256": opinion.sha256,
    }


@endpoint(
    "/cases/{ref}/opinion",
    "GET",
    action="opinion.read",
    summary="The mediation opinion (parties: once issued)",
    tags=TAGS,
    errors=("opinion_not_found",),
)
async def get_opinion(request: Request, caller: Caller) -> dict[str, Any]:
    """Staff get the draft or a template; parties only the issued opinion."""
    async with _services(request).db.read() as db:
        case = await load_case(db, request.path_params["ref"], caller, "opinion.read")
        opinion = await settlement.current_opinion(db, case)
        if caller.party is not None:
            row = await db.execute(
                select(Opinion)
                .where(
                    Opinion.case_id == case.id,
                    Opinion.status == "issued",
                )
                .order_by(Opinion.id.desc())
            )
            opinion = row.scalars().first()
            if opinion is None:
                raise NotFound("No opinion has been issued.", code="opinion_not_found")
    if opinion is None:
        lang = request.query_params.get("language") or case.language_of_record
        lang = lang if lang in ("en", "zh-CN") else "en"
        return {
            "id": None,
            "status": "template",
            "issued_at": None,
            "sha256": None,
            **settlement.opinion_template(case, lang),
        }
    return _opinion_dict(opinion)


@endpoint(
    "/cases/{ref}/opinion",
    "PUT",
    action="opinion.write",
    summary="Save the draft opinion",
    body=OpinionBody,
    tags=TAGS,
    errors=("case_closed",),
)
async def put_opinion(
    request: Request, caller: Caller, body: OpinionBody
) -> dict[str, Any]:
    """Create or edit the draft."""
    assert caller.user is not None
    async with _services(request).db.write() as db:
        case = await load_case(db, request.path_params["ref"], caller, "opinion.write")
        opinion = await settlement.save_opinion(
            db, case, caller.user, body.model_dump()
        )
        return _opinion_dict(opinion)


@endpoint(
    "/cases/{ref}/opinion/issue",
    "POST",
    action="opinion.write",
    summary="Issue the opinion to the parties",
    tags=TAGS,
    errors=("no_draft_opinion", "case_closed"),
)
async def post_issue_opinion(request: Request, caller: Caller) -> dict[str, Any]:
    """Issue the draft as a document of the case (event ``opinion.issued``)."""
    async with _services(request).db.write() as db:
        case = await load_case(db, request.path_params["ref"], caller, "opinion.write")
        opinion = await settlement.issue_opinion(db, case, caller)
        out = _opinion_dict(opinion)
    await announce(
        _services(request),
        case.id,
        "opinion.issued",
        {"opinion_id": opinion.id, "sha256": opinion.sha256},
    )
    return out


# -- agreement ------------------------------------------------------------------


def agreement_dict(
    view: settlement.AgreementView, case: Case, lang: str
) -> dict[str, Any]:
    """The JSON form of an agreement's current version, as checked."""
    doc = view.document
    return {
        "status": view.agreement.status,
        "version": view.version.version,
        "sha256": view.version.sha256,
        "intact": view.intact,
        "complete": view.complete,
        "language_of_record": doc.get("language_of_record"),
        "languages": doc.get("languages", []),
        "texts": doc.get("texts", {}),
        "terms": doc.get("terms", []),
        "additional": doc.get("additional", ""),
        "parties": doc.get("parties", []),
        "signatures": settlement.signature_entries(view, case, lang),
        "missing": view.missing,
    }


def _lang(request: Request) -> str:
    from server.i18n import request_language

    return request_language(request)


@endpoint(
    "/cases/{ref}/agreement",
    "GET",
    action="agreement.read",
    summary="The settlement agreement, its hash and valid signatures",
    tags=TAGS,
    errors=("agreement_not_found",),
)
async def get_agreement(request: Request, caller: Caller) -> dict[str, Any]:
    """The current version, recomputing its hash and every signature."""
    async with _services(request).db.read() as db:
        case = await load_case(db, request.path_params["ref"], caller, "agreement.read")
        view = await settlement.view_agreement(db, case)
        return agreement_dict(view, case, _lang(request))


@endpoint(
    "/cases/{ref}/agreement",
    "POST",
    action="agreement.draft",
    summary="Draw up the agreement from the accepted offer",
    body=GenerateBody,
    status=201,
    tags=TAGS,
    errors=("no_accepted_offer", "agreement_completed", "case_closed"),
)
async def post_agreement(
    request: Request, caller: Caller, body: GenerateBody
) -> dict[str, Any]:
    """A new version from the accepted offer's terms and the case's parties."""
    async with _services(request).db.write() as db:
        case = await load_case(
            db, request.path_params["ref"], caller, "agreement.draft"
        )
        view = await settlement.generate_agreement(db, case, caller, body.offer_id)
        out = agreement_dict(view, case, _lang(request))
    await announce(
        _services(request),
        case.id,
        "agreement.drafted",
        {
            "version": out["version"],
            "sha256": out["sha256"],
            "offer_id": view.agreement.offer_id,
        },
    )
    return out


@endpoint(
    "/cases/{ref}/agreement",
    "PUT",
    action="agreement.draft",
    summary="Revise the agreement's additional terms (voids signatures)",
    body=ReviseBody,
    tags=TAGS,
    errors=("agreement_completed", "agreement_not_found", "case_closed"),
)
async def put_agreement(
    request: Request, caller: Caller, body: ReviseBody
) -> dict[str, Any]:
    """Any change makes a new version; signatures collected so far are void."""
    async with _services(request).db.write() as db:
        case = await load_case(
            db, request.path_params["ref"], caller, "agreement.draft"
        )
        before = await settlement.view_agreement(db, case)
        voided = len(before.signatures)
        view = await settlement.edit_agreement(db, case, caller, body.additional)
        out = agreement_dict(view, case, _lang(request))
    await announce(
        _services(request),
        case.id,
        "agreement.revised",
        {
            "version": out["version"],
            "sha256": out["sha256"],
            "voided_signatures": voided,
        },
    )
    return out


def _signing(request: Request, body: SignBody) -> settlement.SigningRequest:
    return settlement.SigningRequest(
        typed_name=body.typed_name,
        consent=body.consent,
        sha256=body.sha256,
        ip=request.client.host if request.client else "unknown",
        user_agent=request.headers.get("user-agent", ""),
    )


SIGN_ERRORS = (
    "agreement_changed",
    "agreement_tampered",
    "consent_required",
    "name_mismatch",
    "already_signed",
    "case_closed",
)


@endpoint(
    "/cases/{ref}/agreement/sign",
    "POST",
    action="agreement.sign",
    summary="A party signs the current version",
    body=SignBody,
    tags=TAGS,
    errors=SIGN_ERRORS,
)
async def sign(request: Request, caller: Caller, body: SignBody) -> dict[str, Any]:
    """Typed full name, explicit consent, time, IP and user agent, tied to the hash."""
    async with _services(request).db.write() as db:
        case = await load_case(db, request.path_params["ref"], caller, "agreement.sign")
        view = await settlement.sign_agreement(
            db, case, caller, _signing(request, body)
        )
        out = agreement_dict(view, case, _lang(request))
    await _announce_signature(request, case, caller, out)
    return out


async def _announce_signature(
    request: Request, case: Case, caller: Caller, out: dict[str, Any]
) -> None:
    """Tell the room who signed which version, and when the agreement is complete."""
    if caller.party is not None:
        role, name = str(caller.party.role), caller.party.name
    else:
        role, name = "mediator", caller.user.name if caller.user else ""
    services = _services(request)
    version = {"version": out["version"], "sha256": out["sha256"]}
    await announce(
        services,
        case.id,
        "agreement.signed",
        {**version, "signer_role": role, "name": name},
    )
    if out["complete"]:
        await announce(services, case.id, "agreement.completed", version)


@endpoint(
    "/cases/{ref}/agreement/countersign",
    "POST",
    action="agreement.countersign",
    summary="The mediator countersigns after every party",
    body=SignBody,
    tags=TAGS,
    errors=(*SIGN_ERRORS, "parties_not_signed"),
)
async def countersign(
    request: Request, caller: Caller, body: SignBody
) -> dict[str, Any]:
    """Completes the agreement (event ``agreement.completed``)."""
    async with _services(request).db.write() as db:
        case = await load_case(
            db, request.path_params["ref"], caller, "agreement.countersign"
        )
        view = await settlement.sign_agreement(
            db, case, caller, _signing(request, body)
        )
        out = agreement_dict(view, case, _lang(request))
    await _announce_signature(request, case, caller, out)
    return out


async def agreement_pdf_bytes(db: AsyncSession, case: Case, lang: str) -> bytes:
    """The PDF of the current version with its valid signatures."""
    view = await settlement.view_agreement(db, case)
    html = agreement_text.render_html(
        view.document,
        view.version.sha256,
        settlement.signature_entries(view, case, lang),
        view.intact,
    )
    return await agreement_text.render_pdf(html)


@endpoint(
    "/cases/{ref}/agreement.pdf",
    "GET",
    action="agreement.read",
    summary="The agreement as PDF",
    tags=TAGS,
    content_type="application/pdf",
    errors=("agreement_not_found", "pdf_unavailable"),
)
async def agreement_pdf(request: Request, caller: Caller) -> Response:
    """Every language version, signatures and the SHA-256, as one PDF."""
    async with _services(request).db.read() as db:
        case = await load_case(db, request.path_params["ref"], caller, "agreement.read")
        pdf = await agreement_pdf_bytes(db, case, _lang(request))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "content-disposition": f'inline; filename="agreement-{case.reference}.pdf"'
        },
    )


# -- closure, compliance, feedback ------------------------------------------------


@endpoint(
    "/cases/{ref}/closure",
    "POST",
    action="case.close",
    summary="Close the case with an outcome",
    body=ClosureBody,
    tags=TAGS,
    errors=(
        "case_already_closed",
        "agreement_not_completed",
        "reason_required",
        "report_required",
    ),
)
async def close(request: Request, caller: Caller, body: ClosureBody) -> dict[str, Any]:
    """Sets the case closed; the parties are told by mail in their language."""
    async with _services(request).db.write() as db:
        case = await load_case(db, request.path_params["ref"], caller, "case.close")
        await settlement.close_case(
            db, case, caller, body.outcome, body.reason, body.report
        )
        out = {
            "reference": case.reference,
            "status": str(case.status),
            "closure_outcome": case.closure_outcome,
            "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        }
    await announce(
        _services(request), case.id, "case.closed", {"outcome": body.outcome}
    )
    return out


@endpoint(
    "/cases/{ref}/compliance",
    "POST",
    action="case.compliance",
    summary="A party confirms a settlement term was honoured",
    body=ComplianceBody,
    status=201,
    tags=TAGS,
    errors=("case_not_closed", "nothing_to_comply_with"),
)
async def compliance(
    request: Request, caller: Caller, body: ComplianceBody
) -> dict[str, Any]:
    """Recorded as a ``compliance.confirmed`` case event."""
    assert caller.party is not None
    async with _services(request).db.write() as db:
        case = await load_case(
            db, request.path_params["ref"], caller, "case.compliance"
        )
        await settlement.confirm_compliance(db, case, caller.party, body.note)
    return {"status": "confirmed"}


@endpoint(
    "/cases/{ref}/feedback",
    "POST",
    action="feedback.submit",
    summary="Anonymous feedback, once per participant, after closure",
    body=FeedbackBody,
    status=201,
    tags=TAGS,
    errors=("case_not_closed", "feedback_already_given"),
)
async def feedback(
    request: Request, caller: Caller, body: FeedbackBody
) -> dict[str, Any]:
    """Stored without the participant's name or id."""
    services = _services(request)
    async with services.db.write() as db:
        case = await load_case(
            db, request.path_params["ref"], caller, "feedback.submit"
        )
        await settlement.submit_feedback(
            db, case, caller, services.settings.secret_key, body.model_dump()
        )
    return {"status": "received"}


@endpoint(
    "/analytics/feedback",
    "GET",
    action="analytics.read",
    summary="Feedback counts and means, overall and by outcome",
    tags=["analytics"],
)
async def feedback_analytics(request: Request, caller: Caller) -> dict[str, Any]:
    """The aggregate only; single answers are never listed."""
    async with _services(request).db.read() as db:
        return await settlement.feedback_summary(db)


routes = [
    list_offers,
    offer_thread,
    list_bids,
    get_opinion,
    put_opinion,
    post_issue_opinion,
    get_agreement,
    post_agreement,
    put_agreement,
    sign,
    countersign,
    agreement_pdf,
    close,
    compliance,
    feedback,
    feedback_analytics,
]
