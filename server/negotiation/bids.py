"""Blind-bid room actions; sealed figures never reach a party-visible line."""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rooms.negotiation import bidding
from rooms.negotiation.lines import (
    JOINT,
    MEDIATOR,
    LineSpec,
    NegotiationActor,
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
    PartyRole,
    SealedBid,
)
from server.negotiation.common import (
    domain_errors,
    int_field,
    is_sqlite,
    load_context,
    require_mediator,
)

logger = logging.getLogger(__name__)


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
    require_mediator(ctx)
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
    bid_id = int_field(payload, "bid_round_id")
    bid = await db.get(BidRound, bid_id, with_for_update=not is_sqlite(db))
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
    require_mediator(ctx)
    bid = await db.get(BidRound, int_field(payload, "bid_round_id"))
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
