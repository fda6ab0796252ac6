"""The case state machine and the case officer's changes to a case.

A case moves only along the edges of ``TRANSITIONS``; each edge names the
caller kinds that may take it. Every change appends a hash-chained event
(server/caselog.py) and queues a status mail to every party with an e-mail
address, in the party's language and with their personal link, all inside
the caller's write transaction: the mail goes if and only if the change
committed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server import i18n
from server.auth import Caller
from server.caselog import append_event
from server.errors import IllegalTransition, InvalidInput, NotFound, PermissionDenied
from server.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Party,
    PartyRole,
    Role,
    User,
    utcnow,
)
from server.notify import enqueue_mail
from server.permissions import ADMIN, MEDIATOR, OFFICER, PARTY, case_scope
from server.services import Services

logger = logging.getLogger(__name__)

S = CaseStatus
CASEWORK_KINDS = frozenset({ADMIN, OFFICER})


@dataclass(frozen=True)
class Transition:
    """One legal move of a case, and who may make it."""

    source: CaseStatus
    target: CaseStatus
    name: str
    by: frozenset[str]
    # only the claimant (not the respondent) may take a party's edge
    claimant_only: bool = False


TRANSITIONS: tuple[Transition, ...] = (
    Transition(S.SUBMITTED, S.INFO_REQUESTED, "request_info", CASEWORK_KINDS),
    Transition(
        S.INFO_REQUESTED, S.SUBMITTED, "provide_information", frozenset({PARTY}), True
    ),
    Transition(S.SUBMITTED, S.ACCEPTED, "accept", CASEWORK_KINDS),
    Transition(S.SUBMITTED, S.REJECTED, "reject", CASEWORK_KINDS),
    # a claimant who never answers a request for information can be turned down
    Transition(S.INFO_REQUESTED, S.REJECTED, "reject", CASEWORK_KINDS),
    Transition(S.ACCEPTED, S.ASSIGNED, "assign", CASEWORK_KINDS),
    Transition(S.ASSIGNED, S.ASSIGNED, "reassign", CASEWORK_KINDS),
    Transition(
        S.ASSIGNED, S.IN_MEDIATION, "start_mediation", CASEWORK_KINDS | {MEDIATOR}
    ),
    Transition(S.IN_MEDIATION, S.CLOSED, "close", CASEWORK_KINDS | {MEDIATOR}),
)

_EDGES: dict[tuple[CaseStatus, CaseStatus], Transition] = {
    (t.source, t.target): t for t in TRANSITIONS
}

# no edge leaves these; a closed case still takes feedback, which is not a move
FINAL_STATUSES = frozenset({S.REJECTED, S.CLOSED})
OPEN_STATUSES = frozenset({S.ACCEPTED, S.ASSIGNED, S.IN_MEDIATION})

PRIORITIES = ("urgent", "high", "normal", "low")
COMPLEXITIES = ("simple", "standard", "complex")


def find_transition(source: CaseStatus, target: CaseStatus) -> Transition:
    """The edge from ``source`` to ``target``, or IllegalTransition naming both."""
    move = _EDGES.get((CaseStatus(source), CaseStatus(target)))
    if move is None:
        raise IllegalTransition(
            f"A case cannot move from {source} to {target}; from {source} it may "
            f"move to {', '.join(sorted(next_statuses(source))) or 'nothing'}.",
            code="illegal_transition",
            details={"from": str(source), "to": str(target)},
        )
    return move


def next_statuses(source: CaseStatus) -> set[str]:
    """Every status a case in ``source`` may move to."""
    return {str(t.target) for t in TRANSITIONS if t.source == source}


def check_mover(move: Transition, caller: Caller) -> None:
    """Raise unless this caller may take this edge."""
    if caller.kind not in move.by:
        raise PermissionDenied(
            f"A {caller.kind.replace('_', ' ')} may not {move.name.replace('_', ' ')} "
            "a case.",
            code="transition_forbidden",
            details={"from": str(move.source), "to": str(move.target)},
        )
    if move.claimant_only and (
        caller.party is None or caller.party.role != PartyRole.CLAIMANT
    ):
        raise PermissionDenied(
            "Only the claimant may answer a request for information.",
            code="transition_forbidden",
            details={"from": str(move.source), "to": str(move.target)},
        )


async def transition(
    services: Services,
    session: AsyncSession,
    case: Case,
    target: CaseStatus,
    caller: Caller,
    *,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> CaseEvent:
    """Move the case to ``target`` inside the caller's write transaction.

    Checks the edge and the caller, appends a ``case.status_changed`` event
    and queues a status mail to every party. Raises IllegalTransition
    (code ``illegal_transition``) or PermissionDenied
    (code ``transition_forbidden``).
    """
    source = CaseStatus(case.status)
    move = find_transition(source, target)
    check_mover(move, caller)

    case.status = target
    if reason is not None:
        case.decision_reason = reason
    if target == S.CLOSED:
        case.closed_at = utcnow()
    payload: dict[str, Any] = {
        "from": str(source),
        "to": str(target),
        "transition": move.name,
        **(details or {}),
    }
    if reason is not None:
        payload["reason"] = reason
    event = await append_event(
        session, case, "case.status_changed", caller.actor, payload
    )
    logger.info(
        "case %s moved %s -> %s (%s) by %s",
        case.id,
        source,
        target,
        move.name,
        caller.actor,
    )
    await notify_parties(services, session, case, reason=reason)
    return event


# -- loading and scoping -----------------------------------------------------


async def load_case(
    session: AsyncSession, reference: str, *, lock: bool = False
) -> Case:
    """The case with this reference (row-locked on PostgreSQL when ``lock``)."""
    query = select(Case).where(Case.reference == reference)
    if lock:
        query = query.with_for_update()
    case = (await session.execute(query)).scalar_one_or_none()
    if case is None:
        raise NotFound("No such case.", code="case_not_found")
    return case


async def case_for(
    session: AsyncSession,
    caller: Caller,
    action: str,
    reference: str,
    *,
    lock: bool = False,
) -> Case:
    """Load a case and apply the object-level permission rule to it."""
    case = await load_case(session, reference, lock=lock)
    case_scope(caller, action, case)
    return case


async def parties_of(session: AsyncSession, case: Case) -> list[Party]:
    """The case's parties, claimant first."""
    rows = await session.execute(
        select(Party).where(Party.case_id == case.id).order_by(Party.id)
    )
    return list(rows.scalars())


# -- notifications -----------------------------------------------------------


def party_link_url(services: Services, party: Party) -> str:
    """The party's personal link to their case."""
    base = services.settings.public_url.rstrip("/")
    return f"{base}/p/{services.signer.party_link(party)}"


def mail_language(party: Party) -> str:
    """The UI language a party's mail is written in (en when unknown)."""
    return i18n.normalise(party.language) or i18n.DEFAULT_LANGUAGE


async def notify_parties(
    services: Services,
    session: AsyncSession,
    case: Case,
    *,
    reason: str | None = None,
    only: Party | None = None,
    template: str = "casework.mail.body",
) -> int:
    """Queue the status mail to each party with an e-mail; returns how many."""
    queued = 0
    for party in [only] if only is not None else await parties_of(session, case):
        if not party.email:
            continue
        lang = mail_language(party)
        status = i18n.text(lang, f"casework.status.{case.status}")
        subject = i18n.text(
            lang, "casework.mail.subject", reference=case.reference, status=status
        )
        lines = [
            i18n.text(lang, "casework.mail.greeting", name=party.name),
            "",
            i18n.text(lang, template, reference=case.reference, status=status),
        ]
        if reason:
            lines += ["", i18n.text(lang, "casework.mail.reason", reason=reason)]
        lines += [
            "",
            i18n.text(lang, "casework.mail.link"),
            party_link_url(services, party),
            "",
            i18n.text(lang, "casework.mail.footer"),
        ]
        await enqueue_mail(
            session,
            recipient=party.email,
            language=lang,
            subject=subject,
            body="\n".join(lines),
            case_id=case.id,
        )
        queued += 1
    return queued


# -- the case officer's changes ------------------------------------------------


async def classify(
    services: Services,
    session: AsyncSession,
    case: Case,
    caller: Caller,
    *,
    category: str,
    priority: str,
    complexity: str,
) -> CaseEvent:
    """Set category, priority and complexity of a case that is still open."""
    if case.status in FINAL_STATUSES:
        raise IllegalTransition(
            f"Case {case.reference} is {case.status}; it can no longer be graded.",
            code="case_final",
            details={"from": str(case.status), "to": str(case.status)},
        )
    previous = {
        "category": case.category,
        "priority": case.priority,
        "complexity": case.complexity,
    }
    case.category, case.priority, case.complexity = category, priority, complexity
    event = await append_event(
        session,
        case,
        "case.classified",
        caller.actor,
        {
            "category": category,
            "priority": priority,
            "complexity": complexity,
            "previous": previous,
        },
    )
    await notify_parties(services, session, case, template="casework.mail.body_updated")
    return event


async def assign(
    services: Services,
    session: AsyncSession,
    case: Case,
    caller: Caller,
    *,
    mediator_id: int,
    interpreter_ids: list[int] | None = None,
) -> CaseEvent:
    """Assign an active mediator (and interpreters) and move the case to assigned.

    ``interpreter_ids=None`` keeps the interpreters already assigned.
    """
    check_mover(find_transition(case.status, S.ASSIGNED), caller)
    mediator = await session.get(User, mediator_id)
    if mediator is None or mediator.role != Role.MEDIATOR or not mediator.active:
        raise InvalidInput(
            f"User {mediator_id} is not an active mediator.",
            code="not_a_mediator",
            field="mediator_id",
        )
    if interpreter_ids is None:
        interpreter_ids = list(case.interpreter_ids or [])
    interpreters = list(dict.fromkeys(interpreter_ids))
    for user_id in interpreters:
        user = await session.get(User, user_id)
        if user is None or user.role != Role.INTERPRETER or not user.active:
            raise InvalidInput(
                f"User {user_id} is not an active interpreter.",
                code="not_an_interpreter",
                field="interpreter_ids",
            )

    previous = case.mediator_id
    case.mediator_id = mediator.id
    case.interpreter_ids = interpreters
    if case.officer_id is None and caller.user is not None:
        case.officer_id = caller.user.id
    return await transition(
        services,
        session,
        case,
        S.ASSIGNED,
        caller,
        details={
            "mediator_id": mediator.id,
            "interpreter_ids": interpreters,
            "previous_mediator_id": previous,
        },
    )


async def mediator_loads(session: AsyncSession) -> dict[int, int]:
    """Open cases per mediator (accepted, assigned or in mediation)."""
    rows = await session.execute(
        select(Case.mediator_id, func.count(Case.id))
        .where(Case.mediator_id.is_not(None), Case.status.in_(OPEN_STATUSES))
        .group_by(Case.mediator_id)
    )
    return {int(m): int(n) for m, n in rows.all() if m is not None}


async def suggest_mediators(
    session: AsyncSession, case: Case
) -> list[tuple[User, int, int]]:
    """Active mediators ranked by shared languages, then by fewest open cases.

    Returns (mediator, languages matched, open cases) tuples, best first.
    """
    wanted = {
        i18n.normalise(p.language) or p.language
        for p in await parties_of(session, case)
    }
    wanted |= {i18n.normalise(x) or x for x in case.languages or []}
    loads = await mediator_loads(session)
    mediators = (
        await session.execute(
            select(User).where(User.role == Role.MEDIATOR, User.active.is_(True))
        )
    ).scalars()
    ranked = []
    for user in mediators:
        spoken = {i18n.normalise(x) or x for x in user.languages.split(",") if x}
        ranked.append((user, len(spoken & wanted), loads.get(user.id, 0)))
    ranked.sort(key=lambda r: (-r[1], r[2], r[0].id))
    return ranked


async def revoke_links(
    services: Services, session: AsyncSession, case: Case, party: Party, caller: Caller
) -> CaseEvent:
    """Invalidate every link issued to a party so far, and mail them a new one."""
    party.link_version += 1
    event = await append_event(
        session,
        case,
        "party.link_revoked",
        caller.actor,
        {"party_id": party.id, "link_version": party.link_version},
    )
    logger.info(
        "case %s: links of party %s revoked (now version %s)",
        case.id,
        party.id,
        party.link_version,
    )
    await notify_parties(
        services, session, case, only=party, template="casework.mail.body_new_link"
    )
    return event


async def provide_information(
    services: Services,
    session: AsyncSession,
    case: Case,
    caller: Caller,
    *,
    information: str,
) -> CaseEvent:
    """The claimant's answer to a request for information; back to submitted."""
    return await transition(
        services,
        session,
        case,
        S.SUBMITTED,
        caller,
        details={"information": information},
    )
