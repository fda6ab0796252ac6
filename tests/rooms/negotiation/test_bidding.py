"""Blind bidding: the rule, the rounds, and views that leak nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rooms.negotiation import bidding as b
from rooms.negotiation.errors import IllegalMove, InvalidTerms, NotAllowed
from tests.rooms.negotiation.leaks import leaked

CLAIMANT, RESPONDENT = 1, 2


def rule(**kw: object) -> b.BidRule:
    base: dict[str, object] = {"currency": "CNY", "rounds": 2, "tolerance_minor": 1000}
    base.update(kw)
    return b.BidRule(**base)  # type: ignore[arg-type]


def test_settles_at_the_midpoint_within_an_absolute_tolerance() -> None:
    state = b.open_bid(rule(), CLAIMANT, RESPONDENT)
    state = b.submit_figure(state, CLAIMANT, 50_000)
    assert state.status == b.BidStatus.OPEN
    state = b.submit_figure(state, RESPONDENT, 49_001)
    assert state.status == b.BidStatus.SETTLED
    assert state.settled_amount == 49_501  # half a fen rounds up


def test_settles_within_a_percentage_of_the_demand() -> None:
    pct = rule(tolerance_minor=None, tolerance_percent=Decimal("10"))
    state = b.open_bid(pct, CLAIMANT, RESPONDENT)
    state = b.submit_figure(state, CLAIMANT, 100_000)
    state = b.submit_figure(state, RESPONDENT, 90_000)
    assert state.settled_amount == 95_000
    miss = b.open_bid(pct, CLAIMANT, RESPONDENT)
    miss = b.submit_figure(miss, CLAIMANT, 100_000)
    miss = b.submit_figure(miss, RESPONDENT, 89_999)
    assert miss.status == b.BidStatus.OPEN and miss.round == 2


def test_an_offer_above_the_demand_settles() -> None:
    state = b.open_bid(rule(tolerance_minor=0), CLAIMANT, RESPONDENT)
    state = b.submit_figure(state, RESPONDENT, 70_000)
    state = b.submit_figure(state, CLAIMANT, 60_000)
    assert state.settled_amount == 65_000


def test_runs_out_of_rounds_as_not_settled() -> None:
    state = b.open_bid(rule(rounds=2), CLAIMANT, RESPONDENT)
    for _ in range(2):
        state = b.submit_figure(state, CLAIMANT, 90_000)
        state = b.submit_figure(state, RESPONDENT, 10_000)
    assert state.status == b.BidStatus.NOT_SETTLED
    assert state.settled_amount is None
    with pytest.raises(IllegalMove) as caught:
        b.submit_figure(state, CLAIMANT, 1)
    assert caught.value.code == "bidding_closed"


def test_one_sealed_figure_per_side_per_round() -> None:
    state = b.submit_figure(b.open_bid(rule(), CLAIMANT, RESPONDENT), CLAIMANT, 5000)
    with pytest.raises(IllegalMove) as caught:
        b.submit_figure(state, CLAIMANT, 4000)
    assert caught.value.code == "bid_already_submitted"


@pytest.mark.parametrize(
    ("party", "figure", "error", "code"),
    [
        (3, 100, NotAllowed, "not_a_bidder"),
        (CLAIMANT, 0, InvalidTerms, "invalid_amount"),
        (CLAIMANT, -5, InvalidTerms, "invalid_amount"),
        (CLAIMANT, True, InvalidTerms, "invalid_amount"),
        (CLAIMANT, 10**14, InvalidTerms, "invalid_amount"),
    ],
)
def test_bad_figures_are_refused(
    party: int, figure: int, error: type[Exception], code: str
) -> None:
    state = b.open_bid(rule(), CLAIMANT, RESPONDENT)
    with pytest.raises(error) as caught:
        b.submit_figure(state, party, figure)
    assert caught.value.code == code  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"tolerance_minor": None}, "invalid_rule"),
        ({"rounds": 0}, "invalid_rounds"),
        ({"rounds": 11}, "invalid_rounds"),
        ({"currency": "rmb"}, "invalid_currency"),
        ({"tolerance_percent": Decimal("101")}, "invalid_rule"),
        ({"tolerance_minor": -1}, "invalid_rule"),
    ],
)
def test_bad_rules_are_refused(kw: dict[str, object], code: str) -> None:
    with pytest.raises(InvalidTerms) as caught:
        b.open_bid(rule(**kw), CLAIMANT, RESPONDENT)
    assert caught.value.code == code


def test_cancel() -> None:
    state = b.cancel(b.open_bid(rule(), CLAIMANT, RESPONDENT))
    assert state.status == b.BidStatus.CANCELLED
    with pytest.raises(IllegalMove):
        b.cancel(state)


def test_the_mediator_sees_figures_only_when_the_rule_allows() -> None:
    for sees in (True, False):
        state = b.open_bid(rule(mediator_sees_figures=sees), CLAIMANT, RESPONDENT)
        state = b.submit_figure(state, CLAIMANT, 777_777)
        view = b.mediator_view(state)
        assert ("figures" in view) is sees
        assert bool(leaked(777_777, view)) is sees


figures = st.integers(min_value=10_000, max_value=10**11)


@settings(max_examples=300, deadline=None)
@given(
    rounds=st.integers(1, 4),
    tolerance_minor=st.one_of(st.none(), st.integers(0, 10**9)),
    tolerance_percent=st.one_of(
        st.none(), st.decimals(0, 50, places=1, allow_nan=False)
    ),
    mediator_sees=st.booleans(),
    bids=st.lists(st.tuples(figures, figures), min_size=1, max_size=4),
)
def test_party_views_never_hold_a_figure_but_the_settlement(
    rounds: int,
    tolerance_minor: int | None,
    tolerance_percent: Decimal | None,
    mediator_sees: bool,
    bids: list[tuple[int, int]],
) -> None:
    assume(tolerance_minor is not None or tolerance_percent is not None)
    the_rule = b.BidRule(
        "CNY", rounds, tolerance_percent, tolerance_minor, mediator_sees
    )
    public = {str(tolerance_minor), str(tolerance_percent)}
    state = b.open_bid(the_rule, CLAIMANT, RESPONDENT)
    seen: list[object] = []
    submitted: set[int] = set()
    for demand, offer in bids:
        if state.status != b.BidStatus.OPEN:
            break
        for party, figure in ((CLAIMANT, demand), (RESPONDENT, offer)):
            state = b.submit_figure(state, party, figure)
            submitted.add(figure)
            every = b.views(state)
            seen.extend(every[f"party:{p}"] for p in (CLAIMANT, RESPONDENT))

    settled = state.settled_amount
    for figure in submitted - {settled}:
        # a written form equal to a public number of the rule (a tolerance
        # of 100 and a figure of 10000 fen, "100" yuan) is no leak
        hits = [h for h in leaked(figure, *seen) if h not in public]
        assert hits == [], figure
    if settled is not None:
        assert b.party_view(state, CLAIMANT)["settled_amount"] == settled
