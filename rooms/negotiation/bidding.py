"""Blind bidding: sealed figures, the settlement rule and per-audience views.

The mediator opens a blind bid on a monetary issue: the claimant submits a
sealed demand and the respondent a sealed offer, once per round. When the
gap between them is within the rule's tolerance (a percentage of the demand,
or an absolute amount) the case settles at the midpoint; otherwise the next
round starts, up to the rule's number of rounds. A party learns whether a
round settled and, if it did, the amount; never the other side's figure, nor
anything derived from it such as the size of the gap. ``views`` is the only
place where state becomes something an audience sees.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from rooms.negotiation.errors import IllegalMove, InvalidTerms, NotAllowed
from rooms.negotiation.offers import CURRENCY, MAX_AMOUNT_MINOR

MAX_ROUNDS = 10


class BidStatus(enum.StrEnum):
    """Where a blind bid stands."""

    OPEN = "open"
    SETTLED = "settled"
    NOT_SETTLED = "not_settled"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class BidRule:
    """When two sealed figures settle, how many rounds, who sees the figures."""

    currency: str
    rounds: int = 3
    tolerance_percent: Decimal | None = None
    tolerance_minor: int | None = None
    mediator_sees_figures: bool = False

    def validate(self) -> BidRule:
        """Return self, or raise InvalidTerms naming the bad field."""
        if not CURRENCY.match(self.currency):
            raise InvalidTerms(
                f"currency: expected an ISO 4217 code, got {self.currency!r}",
                code="invalid_currency",
            )
        if not 1 <= self.rounds <= MAX_ROUNDS:
            raise InvalidTerms(
                f"rounds: expected 1 to {MAX_ROUNDS}, got {self.rounds}",
                code="invalid_rounds",
            )
        if self.tolerance_percent is None and self.tolerance_minor is None:
            raise InvalidTerms(
                "rule: give a tolerance as a percentage or as an amount",
                code="invalid_rule",
            )
        if self.tolerance_percent is not None and not (
            Decimal(0) <= self.tolerance_percent <= Decimal(100)
        ):
            raise InvalidTerms(
                f"tolerance_percent: expected 0 to 100, got {self.tolerance_percent}",
                code="invalid_rule",
            )
        if self.tolerance_minor is not None and not (
            0 <= self.tolerance_minor <= MAX_AMOUNT_MINOR
        ):
            raise InvalidTerms(
                f"tolerance_minor: expected 0 to {MAX_AMOUNT_MINOR}, "
                f"got {self.tolerance_minor}",
                code="invalid_rule",
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        """The public form of the rule (it holds no party's figure)."""
        return {
            "currency": self.currency,
            "rounds": self.rounds,
            "tolerance_percent": (
                str(self.tolerance_percent)
                if self.tolerance_percent is not None
                else None
            ),
            "tolerance_minor": self.tolerance_minor,
            "mediator_sees_figures": self.mediator_sees_figures,
        }


def within(rule: BidRule, demand: int, offer: int) -> bool:
    """True when the offer meets the demand or the gap is within tolerance."""
    gap = demand - offer
    if gap <= 0:
        return True
    if rule.tolerance_minor is not None and gap <= rule.tolerance_minor:
        return True
    # gap / demand <= percent / 100, kept exact by cross-multiplying
    return (
        rule.tolerance_percent is not None
        and Decimal(gap) * 100 <= rule.tolerance_percent * demand
    )


def midpoint(demand: int, offer: int) -> int:
    """The settlement amount: the midpoint, a half minor unit rounded up."""
    return (demand + offer + 1) // 2


@dataclass(frozen=True)
class BidState:
    """A blind bid: the rule, the sides, the sealed figures of each round."""

    rule: BidRule
    demand_party_id: int
    offer_party_id: int
    round: int = 1
    status: BidStatus = BidStatus.OPEN
    # round number -> {party id -> sealed figure}
    sealed: dict[int, dict[int, int]] = field(default_factory=dict)
    settled_amount: int | None = None

    @property
    def bidders(self) -> tuple[int, int]:
        return (self.demand_party_id, self.offer_party_id)

    def submitted(self, round_no: int) -> frozenset[int]:
        """The parties who have sealed a figure in a round."""
        return frozenset(self.sealed.get(round_no, {}))

    def round_results(self) -> list[bool]:
        """Whether each completed round settled, first round first."""
        done = [
            r for r in sorted(self.sealed) if len(self.sealed[r]) == len(self.bidders)
        ]
        return [
            within(
                self.rule,
                self.sealed[r][self.demand_party_id],
                self.sealed[r][self.offer_party_id],
            )
            for r in done
        ]


def open_bid(rule: BidRule, demand_party_id: int, offer_party_id: int) -> BidState:
    """A new blind bid between the claimant (demand) and the respondent (offer)."""
    if demand_party_id == offer_party_id:
        raise InvalidTerms(
            "A blind bid needs two different parties.", code="invalid_sides"
        )
    return BidState(rule.validate(), demand_party_id, offer_party_id)


def submit_figure(state: BidState, party_id: int, figure: int) -> BidState:
    """Seal one party's figure for the current round; evaluate when both are in."""
    if party_id not in state.bidders:
        raise NotAllowed(
            "Only the two bidding parties may submit a figure.", code="not_a_bidder"
        )
    if state.status != BidStatus.OPEN:
        raise IllegalMove(f"This blind bid is {state.status}.", code="bidding_closed")
    if isinstance(figure, bool) or not isinstance(figure, int):
        raise InvalidTerms(
            "figure: expected a whole number of minor units", code="invalid_amount"
        )
    if not 0 < figure <= MAX_AMOUNT_MINOR:
        raise InvalidTerms(
            f"figure: expected 1 to {MAX_AMOUNT_MINOR} minor units",
            code="invalid_amount",
        )
    current = dict(state.sealed.get(state.round, {}))
    if party_id in current:
        raise IllegalMove(
            "You have sealed a figure for this round already.",
            code="bid_already_submitted",
        )
    current[party_id] = figure
    sealed = {**state.sealed, state.round: current}
    state = replace(state, sealed=sealed)
    if len(current) < len(state.bidders):
        return state

    demand = current[state.demand_party_id]
    offer = current[state.offer_party_id]
    if within(state.rule, demand, offer):
        return replace(
            state, status=BidStatus.SETTLED, settled_amount=midpoint(demand, offer)
        )
    if state.round >= state.rule.rounds:
        return replace(state, status=BidStatus.NOT_SETTLED)
    return replace(state, round=state.round + 1)


def cancel(state: BidState) -> BidState:
    """The mediator stops an open blind bid; nothing about figures is revealed."""
    if state.status != BidStatus.OPEN:
        raise IllegalMove(f"This blind bid is {state.status}.", code="bidding_closed")
    return replace(state, status=BidStatus.CANCELLED)


def party_view(state: BidState, party_id: int) -> dict[str, Any]:
    """What one party may know: the rule, progress, and the outcome only."""
    other = (
        state.offer_party_id
        if party_id == state.demand_party_id
        else state.demand_party_id
    )
    submitted = state.submitted(state.round)
    return {
        "rule": state.rule.to_dict(),
        "side": "demand" if party_id == state.demand_party_id else "offer",
        "round": state.round,
        "status": str(state.status),
        "you_submitted": party_id in submitted,
        "other_submitted": other in submitted,
        "rounds_completed": len(state.round_results()),
        # a party learns an amount only when the bid settled, and then only
        # the settlement, never either figure nor the gap
        "settled_amount": (
            state.settled_amount if state.status == BidStatus.SETTLED else None
        ),
    }


def mediator_view(state: BidState) -> dict[str, Any]:
    """What the mediator sees: progress, and the figures if the rule allows."""
    view: dict[str, Any] = {
        "rule": state.rule.to_dict(),
        "round": state.round,
        "status": str(state.status),
        "submitted": sorted(state.submitted(state.round)),
        "round_results": state.round_results(),
        "settled_amount": state.settled_amount,
    }
    if state.rule.mediator_sees_figures:
        view["figures"] = {
            str(r): {str(p): f for p, f in sorted(by_party.items())}
            for r, by_party in sorted(state.sealed.items())
        }
    return view


def views(state: BidState) -> dict[str, dict[str, Any]]:
    """Every audience's view: ``party:<id>`` for each bidder and ``mediator``."""
    out = {f"party:{p}": party_view(state, p) for p in state.bidders}
    out["mediator"] = mediator_view(state)
    return out
