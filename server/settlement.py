"""Settlement and closure: opinion, agreement, signatures, closure, feedback.

Each function runs inside the caller's write transaction and appends to the
case's hash-chained event log whatever changes the case record.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server import agreement_text, i18n
from server.auth import Caller
from server.caselog import append_event, canonical_json
from server.errors import Conflict, IllegalTransition, InvalidInput, NotFound
from server.models import (
    Agreement,
    AgreementVersion,
    Case,
    CaseStatus,
    Feedback,
    FeedbackReceipt,
    Offer,
    Opinion,
    Party,
    Signature,
    User,
    utcnow,
)
from server.negotiation import ensure_open
from server.notify import enqueue_mail

logger = logging.getLogger(__name__)

OUTCOMES = ("settled", "partly_settled", "not_settled", "withdrawn", "referred")


# -- mediation opinion ----------------------------------------------------------


def opinion_template(case: Case, language: str) -> dict[str, str]:
    """A starting draft: the facts as filed, headings for analysis and solution."""
    return {
        "language": language,
        "facts": case.facts,
        "analysis": i18n.text(language, "negotiation.opinion.template_analysis"),
        "recommendation": i18n.text(
            language, "negotiation.opinion.template_recommendation"
        ),
    }


async def current_opinion(db: AsyncSession, case: Case) -> Opinion | None:
    """The case's latest opinion, draft or issued."""
    row = await db.execute(
        select(Opinion).where(Opinion.case_id == case.id).order_by(Opinion.id.desc())
    )
    return row.scalars().first()


async def save_opinion(
    db: AsyncSession, case: Case, user: User, fields: dict[str, str]
) -> Opinion:
    """Create or edit the draft opinion; an issued one starts a new draft."""
    ensure_open(case)
    opinion = await current_opinion(db, case)
    if opinion is None or opinion.status == "issued":
        opinion = Opinion(case_id=case.id, author_id=user.id, status="draft")
        db.add(opinion)
    opinion.language = fields["language"]
    opinion.facts = fields["facts"]
    opinion.analysis = fields["analysis"]
    opinion.recommendation = fields["recommendation"]
    opinion.author_id = user.id
    await db.flush()
    return opinion


async def issue_opinion(db: AsyncSession, case: Case, caller: Caller) -> Opinion:
    """Issue the draft to the parties as a document of the case."""
    ensure_open(case)
    opinion = await current_opinion(db, case)
    if opinion is None or opinion.status != "draft":
        raise IllegalTransition(
            "There is no draft opinion to issue.", code="no_draft_opinion"
        )
    if not opinion.recommendation.strip():
        raise InvalidInput(
            "recommendation: an opinion needs a recommended solution",
            code="invalid_input",
            field="recommendation",
        )
    body = {
        "language": opinion.language,
        "facts": opinion.facts,
        "analysis": opinion.analysis,
        "recommendation": opinion.recommendation,
    }
    opinion.sha256 = hashlib.sha256(canonical_json(body)).hexdigest()
    opinion.status = "issued"
    opinion.issued_at = utcnow()
    await db.flush()
    await append_event(
        db,
        case,
        "opinion.issued",
        caller.actor,
        {
            "opinion_id": opinion.id,
            "sha256": opinion.sha256,
            "language": opinion.language,
        },
    )
    for party in case.parties:
        if party.email:
            await enqueue_mail(
                db,
                recipient=party.email,
                language=party.language,
                subject=i18n.text(
                    party.language,
                    "negotiation.mail.opinion_subject",
                    ref=case.reference,
                ),
                body=i18n.text(
                    party.language, "negotiation.mail.opinion_body", ref=case.reference
                ),
                case_id=case.id,
            )
    logger.info("opinion %s issued in case %s", opinion.id, case.id)
    return opinion


# -- agreement ------------------------------------------------------------------


@dataclass
class AgreementView:
    """An agreement's current version, checked: integrity and valid signatures."""

    agreement: Agreement
    version: AgreementVersion
    document: dict[str, Any]
    intact: bool
    signatures: list[Signature] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.intact and not self.missing


def _signature_digest(sig: Signature) -> str:
    return hashlib.sha256(
        canonical_json(
            {
                "version_id": sig.version_id,
                "signer": sig.signer,
                "signer_role": sig.signer_role,
                "typed_name": sig.typed_name,
                "consent": sig.consent,
                "signed_at": sig.signed_at,
                "ip": sig.ip,
                "user_agent": sig.user_agent,
                "agreement_sha256": sig.agreement_sha256,
            }
        )
    ).hexdigest()


def signature_valid(sig: Signature, version: AgreementVersion, recomputed: str) -> bool:
    """True when the signature is unvoided, unaltered and signs this exact text."""
    return (
        not sig.voided
        and sig.consent
        and sig.agreement_sha256 == recomputed == version.sha256
        and sig.sha256 == _signature_digest(sig)
    )


async def agreement_of(db: AsyncSession, case: Case) -> Agreement | None:
    """The case's agreement, if one has been generated."""
    row = await db.execute(
        select(Agreement).where(Agreement.case_id == case.id).order_by(Agreement.id)
    )
    return row.scalars().first()


async def view_agreement(db: AsyncSession, case: Case) -> AgreementView:
    """Load the current version and recompute its hash and every signature."""
    agreement = await agreement_of(db, case)
    if agreement is None:
        raise NotFound(
            "No agreement has been drawn up yet.", code="agreement_not_found"
        )
    version = (
        await db.execute(
            select(AgreementVersion).where(
                AgreementVersion.agreement_id == agreement.id,
                AgreementVersion.version == agreement.current_version,
            )
        )
    ).scalar_one()
    recomputed = agreement_text.digest(version.canonical)
    intact = recomputed == version.sha256
    try:
        document = agreement_text.parse(version.canonical)
    except ValueError:
        document, intact = {}, False
    sigs = (
        await db.execute(
            select(Signature)
            .where(Signature.version_id == version.id)
            .order_by(Signature.id)
        )
    ).scalars()
    valid = [s for s in sigs if signature_valid(s, version, recomputed)]
    signed = {s.signer for s in valid}
    required = [f"party:{p.id}" for p in case.parties] + ["mediator"]
    has_mediator = any(s.signer_role == "mediator" for s in valid)
    missing = [
        r
        for r in required
        if (r == "mediator" and not has_mediator)
        or (r != "mediator" and r not in signed)
    ]
    return AgreementView(agreement, version, document, intact, valid, missing)


def _party_entries(case: Case) -> list[dict[str, Any]]:
    return [
        {"role": str(p.role), "name": p.name, "language": p.language}
        for p in case.parties
    ]


async def _new_version(
    db: AsyncSession,
    case: Case,
    agreement: Agreement,
    terms: list[dict[str, Any]],
    additional: str,
    actor: str,
) -> AgreementVersion:
    last = (
        await db.execute(
            select(func.max(AgreementVersion.version)).where(
                AgreementVersion.agreement_id == agreement.id
            )
        )
    ).scalar_one()
    number = (last or 0) + 1
    # every earlier version and its signatures stop counting: any change
    # needs fresh signatures on the new text
    old = select(AgreementVersion.id).where(
        AgreementVersion.agreement_id == agreement.id
    )
    await db.execute(
        update(Signature).where(Signature.version_id.in_(old)).values(voided=True)
    )
    await db.execute(
        update(AgreementVersion)
        .where(AgreementVersion.agreement_id == agreement.id)
        .values(voided=True)
    )
    doc = agreement_text.build_document(
        case_reference=case.reference,
        version=number,
        language_of_record=case.language_of_record,
        parties=_party_entries(case),
        terms=terms,
        additional=additional,
    )
    text = agreement_text.canonical(doc)
    version = AgreementVersion(
        agreement_id=agreement.id,
        version=number,
        canonical=text,
        sha256=agreement_text.digest(text),
        created_by=actor,
    )
    db.add(version)
    agreement.current_version = number
    agreement.status = "open"
    await db.flush()
    return version


async def generate_agreement(
    db: AsyncSession, case: Case, caller: Caller, offer_id: int | None = None
) -> AgreementView:
    """Draw up the agreement from the accepted offer and the case's parties."""
    ensure_open(case)
    query = select(Offer).where(Offer.case_id == case.id, Offer.status == "accepted")
    if offer_id is not None:
        query = query.where(Offer.id == offer_id)
    offer = (await db.execute(query.order_by(Offer.id.desc()))).scalars().first()
    if offer is None:
        raise IllegalTransition(
            "There is no accepted offer to draw the agreement from.",
            code="no_accepted_offer",
        )
    agreement = await agreement_of(db, case)
    if agreement is not None and agreement.status == "completed":
        raise IllegalTransition(
            "The agreement is signed by everyone already.", code="agreement_completed"
        )
    if agreement is None:
        agreement = Agreement(case_id=case.id, offer_id=offer.id)
        db.add(agreement)
        await db.flush()
    agreement.offer_id = offer.id
    version = await _new_version(db, case, agreement, offer.terms, "", caller.actor)
    await append_event(
        db,
        case,
        "agreement.drafted",
        caller.actor,
        {"version": version.version, "sha256": version.sha256, "offer_id": offer.id},
    )
    return await view_agreement(db, case)


async def edit_agreement(
    db: AsyncSession, case: Case, caller: Caller, additional: str
) -> AgreementView:
    """Change the additional terms: a new version that voids every signature."""
    ensure_open(case)
    current = await view_agreement(db, case)
    if current.agreement.status == "completed":
        raise IllegalTransition(
            "The agreement is signed by everyone already.", code="agreement_completed"
        )
    version = await _new_version(
        db,
        case,
        current.agreement,
        current.document.get("terms", []),
        additional.strip(),
        caller.actor,
    )
    await append_event(
        db,
        case,
        "agreement.revised",
        caller.actor,
        {
            "version": version.version,
            "sha256": version.sha256,
            "voided_signatures": len(current.signatures),
        },
    )
    return await view_agreement(db, case)


def _same_name(typed: str, expected: str) -> bool:
    def norm(value: str) -> str:
        folded = unicodedata.normalize("NFKC", value).casefold()
        return "".join(folded.split())

    return bool(norm(typed)) and norm(typed) == norm(expected)


@dataclass(frozen=True)
class SigningRequest:
    """What a signer submits, plus where the request came from."""

    typed_name: str
    consent: bool
    sha256: str
    ip: str
    user_agent: str


async def sign_agreement(
    db: AsyncSession, case: Case, caller: Caller, request: SigningRequest
) -> AgreementView:
    """A party signs, or (after every party) the mediator countersigns."""
    ensure_open(case)
    current = await view_agreement(db, case)
    if not current.intact:
        raise Conflict(
            "The agreement text does not match its recorded hash; it cannot be "
            "signed. Ask the mediator to draw it up again.",
            code="agreement_tampered",
        )
    if request.sha256 != current.version.sha256:
        raise Conflict(
            "The agreement changed since you opened it; read the new version "
            "and sign again.",
            code="agreement_changed",
        )
    if not request.consent:
        raise InvalidInput(
            "Tick the box to confirm that you agree to sign electronically.",
            code="consent_required",
            field="consent",
        )
    if caller.party is not None:
        signer, role, expected = f"party:{caller.party.id}", "party", caller.party.name
    elif caller.user is not None:
        signer, role, expected = f"user:{caller.user.id}", "mediator", caller.user.name
        parties_left = [m for m in current.missing if m != "mediator"]
        if parties_left:
            raise IllegalTransition(
                "The mediator countersigns after every party has signed.",
                code="parties_not_signed",
            )
    else:
        raise IllegalTransition(
            "Only parties and the mediator sign.", code="not_a_signer"
        )
    if not _same_name(request.typed_name, expected):
        raise InvalidInput(
            "Type your full name exactly as it appears in the agreement.",
            code="name_mismatch",
            field="typed_name",
        )
    if any(s.signer == signer for s in current.signatures):
        raise Conflict("You have signed this version already.", code="already_signed")

    sig = Signature(
        version_id=current.version.id,
        signer=signer,
        signer_role=role,
        typed_name=request.typed_name.strip(),
        consent=True,
        signed_at=utcnow().isoformat(timespec="seconds"),
        ip=request.ip[:64],
        user_agent=request.user_agent[:400],
        agreement_sha256=current.version.sha256,
        sha256="",
    )
    sig.sha256 = _signature_digest(sig)
    db.add(sig)
    await db.flush()
    await append_event(
        db,
        case,
        "agreement.signed",
        caller.actor,
        {
            "version": current.version.version,
            "sha256": current.version.sha256,
            "signer_role": role,
            "signature_sha256": sig.sha256,
        },
    )
    after = await view_agreement(db, case)
    if after.complete:
        after.agreement.status = "completed"
        after.agreement.completed_at = utcnow()
        await append_event(
            db,
            case,
            "agreement.completed",
            caller.actor,
            {
                "version": after.version.version,
                "sha256": after.version.sha256,
                "signatures": [s.sha256 for s in after.signatures],
            },
        )
    logger.info("agreement of case %s signed by %s (%s)", case.id, signer, role)
    return after


def signature_entries(
    view: AgreementView, case: Case, lang: str
) -> list[dict[str, Any]]:
    """The valid signatures as the pages and the PDF list them."""
    roles = {f"party:{p.id}": str(p.role) for p in case.parties}
    out = []
    for s in view.signatures:
        role = roles.get(s.signer, "mediator")
        out.append(
            {
                "signer": s.signer,
                "role": role,
                "role_label": i18n.text(lang, f"negotiation.role.{role}"),
                "typed_name": s.typed_name,
                "signed_at": s.signed_at,
                "sha256": s.sha256,
            }
        )
    return out


# -- closure, compliance, feedback ------------------------------------------------


async def close_case(
    db: AsyncSession,
    case: Case,
    caller: Caller,
    outcome: str,
    reason: str = "",
    report: str = "",
) -> Case:
    """Close a case with an outcome; the parties are told in their language.

    This is the minimal status change; casework's state machine should route
    it once merged.
    """
    if case.status == CaseStatus.CLOSED:
        raise IllegalTransition(
            "This case is closed already.", code="case_already_closed"
        )
    if outcome not in OUTCOMES:
        raise InvalidInput(
            f"outcome: expected one of {', '.join(OUTCOMES)}, got {outcome!r}",
            code="invalid_outcome",
            field="outcome",
        )
    payload: dict[str, Any] = {"outcome": outcome}
    if outcome == "settled":
        agreement = await agreement_of(db, case)
        view = await view_agreement(db, case) if agreement else None
        if (
            view is None
            or agreement is None
            or agreement.status != "completed"
            or (not view.complete)
        ):
            raise IllegalTransition(
                "A case closes as settled only with an agreement signed by "
                "every party and countersigned.",
                code="agreement_not_completed",
            )
        payload["agreement_sha256"] = view.version.sha256
    if outcome == "not_settled" and not reason.strip():
        raise InvalidInput(
            "reason: say why the case did not settle",
            code="reason_required",
            field="reason",
        )
    if outcome == "referred" and not report.strip():
        raise InvalidInput(
            "report: a referral needs a closure report",
            code="report_required",
            field="report",
        )
    if reason.strip():
        payload["reason"] = reason.strip()
    if report.strip():
        payload["report"] = report.strip()

    case.status = CaseStatus.CLOSED
    case.closed_at = utcnow()
    case.closure_outcome = outcome
    await append_event(db, case, "case.closed", caller.actor, payload)
    for party in case.parties:
        if not party.email:
            continue
        lang = party.language
        await enqueue_mail(
            db,
            recipient=party.email,
            language=lang,
            subject=i18n.text(
                lang, "negotiation.mail.closed_subject", ref=case.reference
            ),
            body=i18n.text(
                lang,
                "negotiation.mail.closed_body",
                ref=case.reference,
                outcome=i18n.text(lang, f"negotiation.outcome.{outcome}"),
            ),
            case_id=case.id,
        )
    logger.info("case %s closed as %s by %s", case.id, outcome, caller.actor)
    return case


async def confirm_compliance(
    db: AsyncSession, case: Case, party: Party, note: str
) -> None:
    """A party confirms a settlement term was honoured (payment arrived)."""
    if case.status != CaseStatus.CLOSED:
        raise IllegalTransition(
            "Compliance is confirmed after closure.", code="case_not_closed"
        )
    if case.closure_outcome not in ("settled", "partly_settled"):
        raise IllegalTransition(
            "There is no settlement to comply with.", code="nothing_to_comply_with"
        )
    await append_event(
        db,
        case,
        "compliance.confirmed",
        f"party:{party.id}",
        {"note": note.strip()[:1000]},
    )


def receipt_digest(secret: str, case: Case, caller: Caller) -> str:
    """The one-time keyed hash that stops a second answer from the same person."""
    message = f"feedback:{case.id}:{caller.actor}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


async def submit_feedback(
    db: AsyncSession,
    case: Case,
    caller: Caller,
    secret: str,
    answers: dict[str, Any],
) -> Feedback:
    """Store one anonymous answer per participant, after closure only."""
    if case.status != CaseStatus.CLOSED:
        raise IllegalTransition(
            "Feedback opens when the case is closed.", code="case_not_closed"
        )
    digest = receipt_digest(secret, case, caller)
    seen = await db.execute(
        select(FeedbackReceipt.digest).where(FeedbackReceipt.digest == digest)
    )
    if seen.first() is not None:
        raise Conflict(
            "You have given your feedback already; thank you.",
            code="feedback_already_given",
        )
    db.add(FeedbackReceipt(digest=digest))
    row = Feedback(
        case_id=case.id,
        respondent_kind="party" if caller.party is not None else caller.kind,
        closure_outcome=case.closure_outcome,
        satisfaction=answers["satisfaction"],
        fairness=answers["fairness"],
        ease_of_use=answers["ease_of_use"],
        would_use_again=answers["would_use_again"],
        comment=answers.get("comment", "").strip()[:4000],
        submitted_on=utcnow().date().isoformat(),
    )
    db.add(row)
    await db.flush()
    logger.info("feedback received for case %s", case.id)
    return row


async def feedback_summary(db: AsyncSession) -> dict[str, Any]:
    """Counts and means over every answer, overall and per closure outcome."""
    rows = list((await db.execute(select(Feedback))).scalars())

    def summarise(group: list[Feedback]) -> dict[str, Any]:
        n = len(group)
        if n == 0:
            return {"count": 0}

        def mean(attr: str) -> float:
            total: int = sum(int(getattr(r, attr)) for r in group)
            return round(total / n, 2)

        return {
            "count": n,
            "satisfaction": mean("satisfaction"),
            "fairness": mean("fairness"),
            "ease_of_use": mean("ease_of_use"),
            "would_use_again": round(sum(r.would_use_again for r in group) / n, 2),
        }

    by_outcome: dict[str, list[Feedback]] = {}
    for r in rows:
        by_outcome.setdefault(r.closure_outcome or "unknown", []).append(r)
    return {
        "overall": summarise(rows),
        "by_outcome": {k: summarise(v) for k, v in sorted(by_outcome.items())},
    }
