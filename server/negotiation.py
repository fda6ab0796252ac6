"""Negotiation room actions: offers, blind bids and packages, persisted.

Every action has the shape the room hub's extension API calls::

    async def action(db, actor: NegotiationActor, payload: dict) -> list[LineSpec]

It runs inside the hub's write transaction, changes the stored state through
the pure state machines of ``rooms.negotiation``, and returns the transcript
lines to append, each with the visibility that decides who receives it. A
sealed bid figure never appears in a line that a party can see: the joint
line says only that a figure was submitted, and a mediator-only line carries
the figure when the round's rule lets the mediator see it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from rooms.negotiation import bidding, offers, packages
from rooms.negotiation.errors import (
    IllegalMove,
    InvalidTerms,
    NegotiationError,
    NotAllowed,
)
from rooms.negotiation.lines import (
    JOINT,
    MEDIATOR,
    LineSpec,
    NegotiationActor,
    participant,
)
from server.caselog import append_event
from server.errors import (
    IllegalTransition,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from server.models import (
    BidRound,
    Case,
    CaseStatus,
    MediationSession,
    Offer,
    OfferEvent,
    PackageIssue,
    PackageRating,
    Participant,
    PartyRole,
    SealedBid,
    utcnow,
)

logger = logging.getLogger(__name__)

Action = Callable[
    [AsyncSession, NegotiationActor, dict[str, Any]], Awaitable[list[LineSpec]]
]


# -- shared helpers -------------------------------------------------------------


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn a negotiation error into the server's error with the same code."""
    try:
        yield
    except NotAllowed as exc:
        raise PermissionDenied(exc.message, code=exc.code) from None
    except IllegalMove as exc:
        raise IllegalTransition(exc.message, code=exc.code) from None
    except InvalidTerms as exc:
        raise InvalidInput(exc.message, code=exc.code) from None
    except NegotiationError as exc:
        raise InvalidInput(exc.message, code=exc.code) from None


def ensure_open(case: Case) -> None:
    """Refuse any change to a closed case (feedback and compliance excepted)."""
    if case.status == CaseStatus.CLOSED:
        raise IllegalTransition(
            f"Case {case.reference} is closed; it can no longer be changed.",
            code="case_closed",
        )


class Context:
    """What an action needs to know: the session, its case, the acting seat."""

    def __init__(
        self,
        session: MediationSession,
        case: Case,
        seat: Participant,
        actor: NegotiationActor,
    ) -> None:
        self.session = session
        self.case = case
        self.seat = seat
        self.actor = actor

    @property
    def party_ids(self) -> frozenset[int]:
        return frozenset(p.id for p in self.case.parties)

    @property
    def domain_actor(self) -> offers.Actor:
        return offers.Actor(
            self.actor.participant_id, self.actor.party_id, self.actor.role
        )

    @property
    def event_actor(self) -> str:
        """The case-log actor string of the acting seat."""
        if self.seat.party_id is not None:
            return f"party:{self.seat.party_id}"
        if self.seat.user_id is not None:
            return f"user:{self.seat.user_id}"
        return f"participant:{self.seat.id}"


async def load_context(db: AsyncSession, actor: NegotiationActor) -> Context:
    """Load and cross-check the actor's seat, session and case."""
    seat = await db.get(Participant, actor.participant_id)
    if seat is None or seat.removed:
        raise PermissionDenied(
            "You no longer have a seat in this session.", code="not_a_participant"
        )
    if seat.party_id != actor.party_id:
        raise PermissionDenied(
            "The acting party does not match the seat.", code="actor_mismatch"
        )
    session = await db.get(MediationSession, seat.session_id)
    if session is None:
        raise NotFound("No such session.", code="session_not_found")
    case = await db.get(Case, session.case_id)
    if case is None:
        raise NotFound("No such case.", code="case_not_found")
    await db.refresh(case, ["parties"])
    ensure_open(case)
    if actor.room == "lobby" or not actor.room:
        raise IllegalTransition(
            "Wait to be admitted before negotiating.", code="not_in_room"
        )
    return Context(session, case, seat, actor)


def _require_mediator(ctx: Context) -> None:
    if ctx.actor.party_id is not None or ctx.actor.role != "mediator":
        raise PermissionDenied("Only the mediator may do this.", code="mediator_only")


def _int(payload: dict[str, Any], name: str) -> int:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(
            f"{name}: expected a whole number, got {value!r}",
            code="invalid_input",
            field=name,
        )
    return value


# -- offers ---------------------------------------------------------------------


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back timezone-aware columns as naive UTC
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def offer_state(offer: Offer, parties: frozenset[int]) -> offers.OfferState:
    """The pure state of a stored offer."""
    return offers.OfferState(
        status=offers.OfferStatus(offer.status),
        author_participant_id=offer.author_participant_id or 0,
        author_party_id=offer.author_party_id,
        room=offer.room,
        parties=parties,
        released=offer.released,
        caucus_party_id=offer.caucus_party_id,
        expires_at=_aware(offer.expires_at),
        acceptances=frozenset(offer.acceptances or []),
    )


def offer_dict(offer: Offer) -> dict[str, Any]:
    """The JSON form of an offer, as lines and the API show it."""
    return {
        "id": offer.id,
        "status": offer.status,
        "terms": offer.terms,
        "note": offer.note,
        "author_party_id": offer.author_party_id,
        "author_role": offer.author_role,
        "room": offer.room,
        "released": offer.released,
        "answers_offer_id": offer.answers_offer_id,
        "acceptances": list(offer.acceptances or []),
        "expires_at": (
            _aware(offer.expires_at).isoformat()  # type: ignore[union-attr]
            if offer.expires_at
            else None
        ),
    }


def offer_visibility(offer: Offer) -> str:
    """Who may receive lines about this offer."""
    if offer.status == offers.OfferStatus.DRAFT and offer.author_participant_id:
        return participant(offer.author_participant_id)
    if offer.room == JOINT or offer.released:
        return JOINT
    return offer.room


def _apply(offer: Offer, state: offers.OfferState) -> None:
    offer.status = str(state.status)
    offer.released = state.released
    offer.acceptances = sorted(state.acceptances)


def _expires(payload: dict[str, Any]) -> datetime | None:
    raw = payload.get("expires_at")
    if raw in (None, ""):
        return None
    try:
        value = datetime.fromisoformat(str(raw))
    except ValueError:
        raise InvalidInput(
            f"expires_at: expected an ISO time, got {raw!r}",
            code="invalid_date",
            field="expires_at",
        ) from None
    if value.tzinfo is None:
        raise InvalidInput(
            "expires_at: give a time zone", code="invalid_date", field="expires_at"
        )
    if value <= utcnow():
        raise InvalidInput(
            f"expires_at: {raw} has passed already",
            code="invalid_date",
            field="expires_at",
        )
    return value


async def _caucus_party(db: AsyncSession, ctx: Context) -> int | None:
    """The party whose caucus the actor is in, for a mediator's caucus proposal."""
    if ctx.actor.room == JOINT:
        return None
    if ctx.actor.party_id is not None:
        return ctx.actor.party_id
    members = (ctx.session.rooms or {}).get(ctx.actor.room, {}).get("members", [])
    if not members:
        return None
    rows = await db.execute(
        select(Participant.party_id, Participant.attached_party_id).where(
            Participant.id.in_(members)
        )
    )
    for party_id, attached in rows:
        found: int | None = party_id or attached
        if found is not None:
            return found
    return None


async def _load_offer(db: AsyncSession, ctx: Context, payload: dict[str, Any]) -> Offer:
    offer_id = _int(payload, "offer_id")
    offer = await db.get(Offer, offer_id, with_for_update=not _is_sqlite(db))
    if offer is None or offer.case_id != ctx.case.id:
        raise NotFound("No such offer.", code="offer_not_found")
    # a party must not learn that a private offer exists
    if ctx.actor.party_id is not None:
        state = offer_state(offer, ctx.party_ids)
        if not state.visible_to_party(ctx.actor.party_id):
            raise NotFound("No such offer.", code="offer_not_found")
    return offer


def _is_sqlite(db: AsyncSession) -> bool:
    return db.bind is not None and db.bind.dialect.name == "sqlite"


def _event(
    offer: Offer, kind: str, ctx: Context, reason: str | None = None
) -> OfferEvent:
    return OfferEvent(
        offer_id=offer.id,
        kind=kind,
        participant_id=ctx.actor.participant_id,
        party_id=ctx.actor.party_id,
        reason=reason,
    )


def _line(kind: str, offer: Offer, ctx: Context, **extra: Any) -> LineSpec:
    return LineSpec(
        kind=kind,
        room=ctx.actor.room,
        visibility=offer_visibility(offer),
        content={"offer": offer_dict(offer), "by": ctx.seat.display_name, **extra},
    )


async def make_offer(
    db: AsyncSession, actor: NegotiationActor, payload: dict[str, Any]
) -> list[LineSpec]:
    """Make an offer (or a mediator's proposal) in the actor's current room.

    payload: ``terms`` (list of term objects), optional ``note``, ``draft``,
    ``expires_at`` (ISO time with zone) and ``answers_offer_id`` (making it a
    counter-offer to that offer).
    """
    ctx = await load_context(db, actor)
    with domain_errors():
        terms = offers.parse_terms(payload.get("terms"))
        note = str(payload.get("note") or "")[:2000]
        lines: list[LineSpec] = []
        answered: Offer | None = None
        if payload.get("answers_offer_id") is not None:
            answered = await _load_offer(
                db, ctx, {"offer_id": payload["answers_offer_id"]}
            )
            countered = offers.counter(
                offer_state(answered, ctx.party_ids), ctx.domain_actor, utcnow()
            )
            _apply(answered, countered)
            db.add(_event(answered, "countered", ctx))
            lines.append(_line("offer.countered", answered, ctx))

        state = offers.new_offer(
            ctx.domain_actor,
            actor.room,
            ctx.party_ids,
            draft=bool(payload.get("draft")),
            caucus_party_id=await _caucus_party(db, ctx),
            expires_at=_expires(payload),
        )
    offer = Offer(
        case_id=ctx.case.id,
        session_id=ctx.session.id,
        author_participant_id=actor.participant_id,
        author_party_id=actor.party_id,
        author_role=actor.role,
        room=actor.room,
        caucus_party_id=state.caucus_party_id,
        released=False,
        status=str(state.status),
        answers_offer_id=answered.id if answered else None,
        terms=terms.to_list(),
        note=note,
        acceptances=[],
        expires_at=state.expires_at,
    )
    db.add(offer)
    await db.flush()
    db.add(_event(offer, "made", ctx))
    logger.info(
        "offer %s made in case %s session %s room %s by participant %s",
        offer.id,
        ctx.case.id,
        ctx.session.id,
        actor.room,
        actor.participant_id,
    )
    lines.append(_line("offer.made", offer, ctx))
    return lines


async def counter_offer(
    db: AsyncSession, actor: NegotiationActor, payload: dict[str, Any]
) -> list[LineSpec]:
    """Answer an open offer with new terms; payload: ``offer_id``, ``terms``."""
    return await make_offer(
        db, actor, {**payload, "answers_offer_id": _int(payload, "offer_id")}
    )


async def _step(
    db: AsyncSession,
    actor: NegotiationActor,
    payload: dict[str, Any],
    kind: str,
    move: Callable[[offers.OfferState, offers.Actor], offers.OfferState],
) -> tuple[Context, Offer, list[LineSpec]]:
    ctx = await load_context(db, actor)
    offer = await _load_offer(db, ctx, payload)
    was_public = offer_visibility(offer)
    with domain_errors():
        state = move(offer_state(offer, ctx.party_ids), ctx.domain_actor)
    _apply(offer, state)
    reason = payload.get("reason")
    db.add(_event(offer, kind, ctx, str(reason)[:2000] if reason else None))
    extra = {"reason": str(reason)[:2000]} if reason and kind == "rejected" else {}
    line = _line(f"offer.{kind}", offer, ctx, **extra)
    lines = [line]
    if kind == "released" and was_public != JOINT:
        # the caucus that saw it learns of the release too
        lines.insert(0, LineSpec(line.kind, line.room, was_public, line.content))
    logger.info(
        "offer %s %s in case %s by participant %s",
        offer.id,
        kind,
        ctx.case.id,
        actor.participant_id,
    )
    return ctx, offer, lines


async def accept_offer(
    db: AsyncSession, actor: NegotiationActor, payload: dict[str, Any]
) -> list[LineSpec]:
    """A party accepts an offer; payload: ``offer_id``."""
    ctx, offer, lines = await _step(
        db,
        actor,
        payload,
        "accepted",
        lambda s, a: offers.accept(s, a, utcnow()),
    )
    if offer.status == offers.OfferStatus.ACCEPTED:
        await append_event(
            db,
            ctx.case,
            "offer.accepted",
            ctx.event_actor,
            {"offer_id": offer.id, "terms": offer.terms},
        )
    return lines


async def reject_offer(
    db: AsyncSession, actor: NegotiationActor, payload: dict[str, Any]
) -> list[LineSpec]:
    """A party rejects an offer; payload: ``offer_id``, optional ``reason``."""
    _, _, lines = await _step(
        db, actor, payload, "rejected", lambda s, a: offers.reject(s, a, utcnow())
    )
    return lines


async def withdraw_offer(
    db: AsyncSession, actor: NegotiationActor, payload: dict[str, Any]
) -> list[LineSpec]:
    """The author withdraws an offer; payload: ``offer_id``."""
    _, _, lines = await _step(db, actor, payload, "withdrawn", offers.withdraw)
    return lines


async def release_offer(
    db: AsyncSession, actor: NegotiationActor, payload: dict[str, Any]
) -> list[LineSpec]:
    """The author releases a caucus offer to the joint room; payload: ``offer_id``."""
    _, _, lines = await _step(db, actor, payload, "released", offers.release)
    return lines


async def submit_offer(
    db: AsyncSession, actor: NegotiationActor, payload: dict[str, Any]
) -> list[LineSpec]:
    """The author puts a draft on the table; payload: ``offer_id``."""
    _, _, lines = await _step(db, actor, payload, "submitted", offers.submit)
    return lines


async def expire_offer(
    db: AsyncSession, actor: NegotiationActor, payload: dict[str, Any]
) -> list[LineSpec]:
    """Mark an offer whose time has run out as expired; payload: ``offer_id``."""
    _, _, lines = await _step(
        db, actor, payload, "expired", lambda s, a: offers.expire(s, utcnow())
    )
    return lines


def visible_offers(
    rows: list[Offer], parties: frozenset[int], party_id: int | None, staff: bool
) -> list[Offer]:
    """The offers a caller may see: staff all, a party what is visible to it."""
    if staff:
        return rows
    if party_id is None:
        return [o for o in rows if offer_state(o, parties).public]
    return [
        o
        for o in rows
        if offer_state(o, parties).visible_to_party(party_id)
        and (o.status != offers.OfferStatus.DRAFT or o.author_party_id == party_id)
    ]


def thread_of(rows: list[Offer], offer_id: int) -> list[Offer]:
    """The chain of counter-offers an offer belongs to, oldest first."""
    by_id = {o.id: o for o in rows}
    answered_by: dict[int, list[Offer]] = {}
    for o in rows:
        if o.answers_offer_id is not None:
            answered_by.setdefault(o.answers_offer_id, []).append(o)
    root = by_id.get(offer_id)
    if root is None:
        return []
    while root.answers_offer_id in by_id:
        root = by_id[root.answers_offer_id]
    chain: list[Offer] = []
    frontier = [root]
    while frontier:
        current = frontier.pop(0)
        chain.append(current)
        frontier.extend(sorted(answered_by.get(current.id, []), key=lambda o: o.id))
    return chain


# -- blind bidding ----------------------------------------------------------------


def _rule_from(raw: dict[str, Any]) -> bidding.BidRule:
    try:
        percent = raw.get("tolerance_percent")
        return bidding.BidRule(
            currency=str(raw.get("currency", "")),
            rounds=int(raw.get("rounds", 3)),
            tolerance_percent=Decimal(str(percent))
            if percent not in (None, "")
            else None,
            tolerance_minor=(
                int(raw["tolerance_minor"])
                if raw.get("tolerance_minor") not in (None, "")
                else None
            ),
            mediator_sees_figures=bool(raw.get("mediator_sees_figures", False)),
        )
    except (TypeError, ValueError, InvalidOperation):
        raise InvalidInput(
            "rule: rounds and tolerances must be numbers", code="invalid_rule"
        ) from None


async def bid_state(db: AsyncSession, bid: BidRound) -> bidding.BidState:
    """The pure state of a stored blind bid, sealed figures included."""
    rows = await db.execute(select(SealedBid).where(SealedBid.bid_round_id == bid.id))
    sealed: dict[int, dict[int, int]] = {}
    for row in rows.scalars():
        sealed.setdefault(row.round_no, {})[row.party_id] = row.figure_minor
    return bidding.BidState(
        rule=_rule_from(bid.rule),
        demand_party_id=bid.demand_party_id,
        offer_party_id=bid.offer_party_id,
        round=bid.current_round,
        status=bidding.BidStatus(bid.status),
        sealed=sealed,
        settled_amount=bid.settled_amount_minor,
    )


async def open_bid_round(
    db: AsyncSession, actor: NegotiationActor, payload: dict[str, Any]
) -> list[LineSpec]:
    """The mediator opens a blind bid; payload: the rule's fields.

    ``currency``, ``rounds``, ``tolerance_percent`` and/or ``tolerance_minor``,
    ``mediator_sees_figures``; the claimant bids the demand, the respondent
    the offer.
    """
    ctx = await load_context(db, actor)
    _require_mediator(ctx)
    running = await db.execute(
        select(BidRound.id).where(
            BidRound.case_id == ctx.case.id, BidRound.status == "open"
        )
    )
    if running.first() is not None:
        raise IllegalTransition(
            "A blind bid is running already.", code="bidding_in_progress"
        )
    by_role = {p.role: p.id for p in ctx.case.parties}
    if PartyRole.CLAIMANT not in by_role or PartyRole.RESPONDENT not in by_role:
        raise IllegalTransition(
            "A blind bid needs a claimant and a respondent.", code="invalid_sides"
        )
    with domain_errors():
        state = bidding.open_bid(
            _rule_from(payload),
            by_role[PartyRole.CLAIMANT],
            by_role[PartyRole.RESPONDENT],
        )
    bid = BidRound(
        case_id=ctx.case.id,
        session_id=ctx.session.id,
        rule=state.rule.to_dict(),
        demand_party_id=state.demand_party_id,
        offer_party_id=state.offer_party_id,
        current_round=1,
        status=str(state.status),
        opened_by=actor.participant_id,
    )
    db.add(bid)
    await db.flush()
    logger.info("blind bid %s opened in case %s", bid.id, ctx.case.id)
    return [
        LineSpec(
            "bid.opened",
            actor.room,
            JOINT,
            {"bid_round_id": bid.id, "rule": state.rule.to_dict(), "round": 1},
        )
    ]


async def submit_bid(
    db: AsyncSession, actor: NegotiationActor, payload: dict[str, Any]
) -> list[LineSpec]:
    """A party seals its figure; payload: ``bid_round_id``, ``figure_minor``.

    The joint line names only who submitted. When both figures of a round are
    in, a joint line tells whether it settled and, only if it did, the amount.
    """
    ctx = await load_context(db, actor)
    bid_id = _int(payload, "bid_round_id")
    bid = await db.get(BidRound, bid_id, with_for_update=not _is_sqlite(db))
    if bid is None or bid.case_id != ctx.case.id:
        raise NotFound("No such blind bid.", code="bid_not_found")
    if actor.party_id is None:
        raise PermissionDenied(
            "Only the bidding parties submit figures.", code="not_a_bidder"
        )
    before = await bid_state(db, bid)
    with domain_errors():
        after = bidding.submit_figure(
            before,
            actor.party_id,
            payload.get("figure_minor"),  # type: ignore[arg-type]
        )
    round_no = before.round
    db.add(
        SealedBid(
            bid_round_id=bid.id,
            round_no=round_no,
            party_id=actor.party_id,
            figure_minor=after.sealed[round_no][actor.party_id],
        )
    )
    bid.current_round = after.round
    bid.status = str(after.status)
    bid.settled_amount_minor = after.settled_amount
    # deliberately no figure here, not even at DEBUG
    logger.info(
        "bid submitted in blind bid %s round %s by party %s (case %s)",
        bid.id,
        round_no,
        actor.party_id,
        ctx.case.id,
    )

    lines = [
        LineSpec(
            "bid.submitted",
            actor.room,
            JOINT,
            {
                "bid_round_id": bid.id,
                "round": round_no,
                "party_id": actor.party_id,
                "by": ctx.seat.display_name,
            },
        )
    ]
    if after.rule.mediator_sees_figures:
        lines.append(
            LineSpec(
                "bid.figure",
                actor.room,
                MEDIATOR,
                {
                    "bid_round_id": bid.id,
                    "round": round_no,
                    "party_id": actor.party_id,
                    "figure_minor": after.sealed[round_no][actor.party_id],
                    "currency": after.rule.currency,
                },
            )
        )
    if len(after.sealed[round_no]) == len(after.bidders):
        settled = after.status == bidding.BidStatus.SETTLED
        result: dict[str, Any] = {
            "bid_round_id": bid.id,
            "round": round_no,
            "settled": settled,
            "status": str(after.status),
            "next_round": after.round if after.status == "open" else None,
        }
        if settled:
            result["amount_minor"] = after.settled_amount
            result["currency"] = after.rule.currency
        lines.append(LineSpec("bid.result", actor.room, JOINT, result))
        if after.status != bidding.BidStatus.OPEN:
            payload_out: dict[str, Any] = {"bid_round_id": bid.id}
            if settled:
                payload_out |= {
                    "amount_minor": after.settled_amount,
                    "currency": after.rule.currency,
                }
            await append_event(
                db, ctx.case, f"bid.{after.status}", ctx.event_actor, payload_out
            )
    await db.flush()
    return lines


async def cancel_bid_round(
    db: AsyncSession, actor: NegotiationActor, payload: dict[str, Any]
) -> list[LineSpec]:
    """The mediator stops a blind bid; payload: ``bid_round_id``."""
    ctx = await load_context(db, actor)
    _require_mediator(ctx)
    bid = await db.get(BidRound, _int(payload, "bid_round_id"))
    if bid is None or bid.case_id != ctx.case.id:
        raise NotFound("No such blind bid.", code="bid_not_found")
    with domain_errors():
        state = bidding.cancel(await bid_state(db, bid))
    bid.status = str(state.status)
    return [LineSpec("bid.cancelled", actor.room, JOINT, {"bid_round_id": bid.id})]


def bid_view_for(
    state: bidding.BidState, bid_id: int, party_id: int | None, staff: bool
) -> dict[str, Any] | None:
    """One caller's view of a blind bid, or None when it concerns them not."""
    if staff:
        return {"bid_round_id": bid_id, **bidding.mediator_view(state)}
    if party_id in state.bidders:
        return {"bid_round_id": bid_id, **bidding.party_view(state, party_id)}
    return None


# -- multi-issue packages -----------------------------------------------------------


async def _issues(db: AsyncSession, case_id: int) -> list[PackageIssue]:
    rows = await db.execute(
        select(PackageIssue)
        .where(PackageIssue.case_id == case_id)
        .order_by(PackageIssue.position)
    )
    return list(rows.scalars())


async def set_package_issues(
    db: AsyncSession, actor: NegotiationActor, payload: dict[str, Any]
) -> list[LineSpec]:
    """The mediator lists the issues and options; earlier ratings are dropped.

    payload: ``issues``: [{"key": "refund", "options": ["full", "half"]}, ...]
    """
    ctx = await load_context(db, actor)
    _require_mediator(ctx)
    raw = payload.get("issues")
    if not isinstance(raw, list):
        raise InvalidInput("issues: expected a list", code="no_issues", field="issues")
    try:
        issues = [
            packages.Issue(
                str(i["key"]).strip()[:120],
                tuple(str(o).strip()[:200] for o in i["options"]),
            )
            for i in raw
        ]
    except (KeyError, TypeError):
        raise InvalidInput(
            "issues: each needs a key and a list of options", code="invalid_options"
        ) from None
    with domain_errors():
        packages.validate_issues(issues)
    old = [i.id for i in await _issues(db, ctx.case.id)]
    if old:
        await db.execute(delete(PackageRating).where(PackageRating.issue_id.in_(old)))
        await db.execute(delete(PackageIssue).where(PackageIssue.id.in_(old)))
    for position, issue in enumerate(issues):
        db.add(
            PackageIssue(
                case_id=ctx.case.id,
                key=issue.key,
                position=position,
                options=list(issue.options),
            )
        )
    await db.flush()
    # issues and options are not secret; only the weights and ratings are
    return [
        LineSpec(
            "package.issues",
            actor.room,
            JOINT,
            {"issues": [{"key": i.key, "options": list(i.options)} for i in issues]},
        )
    ]


async def rate_package(
    db: AsyncSession, actor: NegotiationActor, payload: dict[str, Any]
) -> list[LineSpec]:
    """A party privately weights each issue and rates its options.

    payload: ``ratings``: {issue key: {"weight": int, "options": {option: 0-10}}}
    """
    ctx = await load_context(db, actor)
    if actor.party_id is None:
        raise PermissionDenied("Only a party rates options.", code="not_a_party")
    stored = await _issues(db, ctx.case.id)
    if not stored:
        raise IllegalTransition("No issues to rate yet.", code="no_issues")
    raw = payload.get("ratings")
    if not isinstance(raw, dict):
        raise InvalidInput("ratings: expected an object", code="invalid_rating")
    issues = [packages.Issue(i.key, tuple(i.options)) for i in stored]
    prefs = packages.Preferences(
        # a missing weight stays None here and is refused by validation
        weights={k: v.get("weight") for k, v in raw.items() if isinstance(v, dict)},  # type: ignore[misc]
        ratings={
            k: dict(v.get("options") or {})
            for k, v in raw.items()
            if isinstance(v, dict)
        },
    )
    with domain_errors():
        packages.validate_preferences(issues, prefs)
    ids = [i.id for i in stored]
    await db.execute(
        delete(PackageRating).where(
            PackageRating.issue_id.in_(ids), PackageRating.party_id == actor.party_id
        )
    )
    for issue in stored:
        db.add(
            PackageRating(
                issue_id=issue.id,
                party_id=actor.party_id,
                weight=prefs.weights[issue.key],
                ratings={o: prefs.ratings[issue.key][o] for o in issue.options},
            )
        )
    await db.flush()
    return [
        LineSpec("package.rated", actor.room, MEDIATOR, {"party_id": actor.party_id}),
        LineSpec(
            "package.rating_saved",
            actor.room,
            participant(actor.participant_id),
            {"ratings": raw},
        ),
    ]


async def package_suggestion(db: AsyncSession, case_id: int) -> packages.Suggestion:
    """The fairest package over the stored ratings (mediator only)."""
    stored = await _issues(db, case_id)
    issues = [packages.Issue(i.key, tuple(i.options)) for i in stored]
    rows = await db.execute(
        select(PackageRating).where(PackageRating.issue_id.in_([i.id for i in stored]))
    )
    key_of = {i.id: i.key for i in stored}
    weights: dict[int, dict[str, int]] = {}
    ratings: dict[int, dict[str, dict[str, int]]] = {}
    for row in rows.scalars():
        weights.setdefault(row.party_id, {})[key_of[row.issue_id]] = row.weight
        ratings.setdefault(row.party_id, {})[key_of[row.issue_id]] = row.ratings
    prefs = {p: packages.Preferences(weights[p], ratings[p]) for p in weights}
    with domain_errors():
        return packages.suggest(issues, prefs)


async def suggest_package(
    db: AsyncSession, actor: NegotiationActor, payload: dict[str, Any]
) -> list[LineSpec]:
    """The mediator computes the suggested package; only the mediator sees it."""
    ctx = await load_context(db, actor)
    _require_mediator(ctx)
    suggestion = await package_suggestion(db, ctx.case.id)
    return [LineSpec("package.suggested", actor.room, MEDIATOR, suggestion.to_dict())]


async def propose_package(
    db: AsyncSession, actor: NegotiationActor, payload: dict[str, Any]
) -> list[LineSpec]:
    """The mediator proposes a package as an ordinary offer.

    payload: ``choice``: {issue key: option}; optional ``terms`` (extra
    monetary terms) and ``note``.
    """
    ctx = await load_context(db, actor)
    _require_mediator(ctx)
    choice = payload.get("choice")
    stored = {i.key: i for i in await _issues(db, ctx.case.id)}
    if not isinstance(choice, dict) or set(choice) != set(stored):
        raise InvalidInput(
            "choice: pick one option for every issue", code="invalid_choice"
        )
    for key, option in choice.items():
        if option not in stored[key].options:
            raise InvalidInput(
                f"{key}: {option!r} is not one of its options", code="invalid_choice"
            )
    terms = list(payload.get("terms") or []) + [
        {"type": "obligation", "text": f"{key}: {choice[key]}"} for key in stored
    ]
    return await make_offer(db, actor, {"terms": terms, "note": payload.get("note")})


ROOM_ACTIONS: dict[str, Action] = {
    "offer.make": make_offer,
    "offer.counter": counter_offer,
    "offer.accept": accept_offer,
    "offer.reject": reject_offer,
    "offer.withdraw": withdraw_offer,
    "offer.release": release_offer,
    "offer.submit": submit_offer,
    "offer.expire": expire_offer,
    "bid.open": open_bid_round,
    "bid.submit": submit_bid,
    "bid.cancel": cancel_bid_round,
    "package.issues": set_package_issues,
    "package.rate": rate_package,
    "package.suggest": suggest_package,
    "package.propose": propose_package,
}
"""Room event kind -> action, for the hub's extension API to register."""
