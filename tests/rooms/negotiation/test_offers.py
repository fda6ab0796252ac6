"""The offer state machine: every transition, legal and illegal."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from rooms.negotiation import offers as o
from rooms.negotiation.errors import IllegalMove, InvalidTerms, NotAllowed

A, B = 1, 2
PARTY_A = o.Actor(participant_id=10, party_id=A, role="party")
PARTY_B = o.Actor(participant_id=20, party_id=B, role="party")
MEDIATOR = o.Actor(participant_id=30, party_id=None, role="mediator")
INTERPRETER = o.Actor(participant_id=40, party_id=None, role="interpreter")
STRANGER = o.Actor(participant_id=50, party_id=99, role="party")
NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def offer_by(
    actor: o.Actor, status: o.OfferStatus, room: str = "joint"
) -> o.OfferState:
    state = o.new_offer(actor, room, {A, B})
    return replace(state, status=status)


ALL = list(o.OfferStatus)


def test_terms_parse_monetary_and_obligation() -> None:
    terms = o.parse_terms(
        [
            {
                "type": "monetary",
                "amount_minor": 120000,
                "currency": "CNY",
                "due_date": "2026-06-30",
                "instalments": 3,
            },
            {"type": "obligation", "text": "  Remove the review ", "deadline": None},
        ]
    )
    assert terms.monetary[0] == o.MonetaryTerm(120000, "CNY", date(2026, 6, 30), 3)
    assert terms.obligations[0].text == "Remove the review"
    assert o.parse_terms(terms.to_list()) == terms


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ([], "no_terms"),
        ("x", "no_terms"),
        ([{"type": "gift"}], "invalid_term_type"),
        (
            [{"type": "monetary", "amount_minor": 0, "currency": "CNY"}],
            "invalid_amount",
        ),
        (
            [{"type": "monetary", "amount_minor": 1.5, "currency": "CNY"}],
            "invalid_amount",
        ),
        (
            [{"type": "monetary", "amount_minor": True, "currency": "CNY"}],
            "invalid_amount",
        ),
        (
            [{"type": "monetary", "amount_minor": 5, "currency": "yuan"}],
            "invalid_currency",
        ),
        (
            [
                {
                    "type": "monetary",
                    "amount_minor": 5,
                    "currency": "CNY",
                    "instalments": 0,
                }
            ],
            "invalid_instalments",
        ),
        (
            [
                {
                    "type": "monetary",
                    "amount_minor": 5,
                    "currency": "CNY",
                    "due_date": "soon",
                }
            ],
            "invalid_date",
        ),
        ([{"type": "obligation", "text": "   "}], "invalid_obligation"),
        ([{"type": "obligation", "text": "x" * 2001}], "invalid_obligation"),
        ([{"type": "obligation", "text": "ok"}] * 21, "too_many_terms"),
    ],
)
def test_malformed_terms_are_refused_with_stable_codes(raw: object, code: str) -> None:
    with pytest.raises(InvalidTerms) as caught:
        o.parse_terms(raw)
    assert caught.value.code == code


def test_only_parties_and_the_mediator_make_offers() -> None:
    assert o.new_offer(PARTY_A, "joint", {A, B}).status == o.OfferStatus.OPEN
    assert o.new_offer(MEDIATOR, "joint", {A, B}).author_party_id is None
    assert o.new_offer(PARTY_A, "joint", {A, B}, draft=True).status == "draft"
    for actor in (INTERPRETER, STRANGER):
        with pytest.raises(NotAllowed) as caught:
            o.new_offer(actor, "joint", {A, B})
        assert caught.value.code == "not_a_party"


# -- answering: accept, reject, counter ----------------------------------------

ANSWERS = {"accept": o.accept, "reject": o.reject, "counter": o.counter}
RESULT = {
    "accept": o.OfferStatus.ACCEPTED,
    "reject": o.OfferStatus.REJECTED,
    "counter": o.OfferStatus.COUNTERED,
}
CLOSED_CODE = {
    o.OfferStatus.DRAFT: "offer_not_open",
    o.OfferStatus.ACCEPTED: "offer_already_accepted",
    o.OfferStatus.REJECTED: "offer_already_rejected",
    o.OfferStatus.WITHDRAWN: "offer_withdrawn",
    o.OfferStatus.EXPIRED: "offer_expired",
    o.OfferStatus.COUNTERED: "offer_already_countered",
}


@pytest.mark.parametrize("answer", sorted(ANSWERS))
@pytest.mark.parametrize("status", ALL)
def test_answer_from_every_status(answer: str, status: o.OfferStatus) -> None:
    offer = offer_by(PARTY_A, status)
    if status == o.OfferStatus.OPEN:
        assert ANSWERS[answer](offer, PARTY_B, NOW).status == RESULT[answer]
        return
    with pytest.raises(IllegalMove) as caught:
        ANSWERS[answer](offer, PARTY_B, NOW)
    assert caught.value.code == CLOSED_CODE[status]


@pytest.mark.parametrize("answer", sorted(ANSWERS))
@pytest.mark.parametrize(
    ("actor", "code"),
    [
        (PARTY_A, "own_offer"),
        (MEDIATOR, "not_a_party"),
        (INTERPRETER, "not_a_party"),
        (STRANGER, "not_a_party"),
    ],
)
def test_who_may_not_answer(answer: str, actor: o.Actor, code: str) -> None:
    with pytest.raises(NotAllowed) as caught:
        ANSWERS[answer](offer_by(PARTY_A, o.OfferStatus.OPEN), actor, NOW)
    assert caught.value.code == code


def test_accepting_twice_is_refused() -> None:
    accepted = o.accept(offer_by(PARTY_A, o.OfferStatus.OPEN), PARTY_B, NOW)
    with pytest.raises(IllegalMove) as caught:
        o.accept(accepted, PARTY_B, NOW)
    assert caught.value.code == "offer_already_accepted"


def test_a_mediator_proposal_needs_both_parties() -> None:
    proposal = o.new_offer(MEDIATOR, "joint", {A, B})
    half = o.accept(proposal, PARTY_A, NOW)
    assert half.status == o.OfferStatus.OPEN and half.acceptances == {A}
    with pytest.raises(IllegalMove) as caught:
        o.accept(half, PARTY_A, NOW)
    assert caught.value.code == "offer_already_accepted"
    assert o.accept(half, PARTY_B, NOW).status == o.OfferStatus.ACCEPTED


def test_an_offer_past_its_time_cannot_be_answered() -> None:
    offer = replace(offer_by(PARTY_A, o.OfferStatus.OPEN), expires_at=NOW)
    for answer in ANSWERS.values():
        with pytest.raises(IllegalMove) as caught:
            answer(offer, PARTY_B, NOW)
        assert caught.value.code == "offer_expired"
    early = NOW - timedelta(seconds=1)
    assert o.accept(offer, PARTY_B, early).status == o.OfferStatus.ACCEPTED


# -- caucus offers and release ---------------------------------------------------


def test_a_caucus_offer_stays_private_until_released() -> None:
    offer = o.new_offer(PARTY_A, "caucus-1", {A, B})
    assert not offer.public and offer.visible_to_party(A)
    assert not offer.visible_to_party(B)
    with pytest.raises(NotAllowed) as caught:
        o.accept(offer, PARTY_B, NOW)
    assert caught.value.code == "offer_not_released"

    released = o.release(offer, PARTY_A)
    assert released.public and released.visible_to_party(B)
    assert o.accept(released, PARTY_B, NOW).status == o.OfferStatus.ACCEPTED
    with pytest.raises(IllegalMove) as twice:
        o.release(released, PARTY_A)
    assert twice.value.code == "offer_released"


def test_a_mediator_caucus_proposal_is_seen_by_that_caucus_party() -> None:
    offer = o.new_offer(MEDIATOR, "caucus-2", {A, B}, caucus_party_id=B)
    assert offer.visible_to_party(B) and not offer.visible_to_party(A)
    with pytest.raises(NotAllowed) as caught:
        o.release(offer, PARTY_B)
    assert caught.value.code == "not_offer_author"
    assert o.release(offer, MEDIATOR).public


@pytest.mark.parametrize("status", ALL)
def test_release_from_every_status(status: o.OfferStatus) -> None:
    offer = offer_by(PARTY_A, status, room="caucus-1")
    if status == o.OfferStatus.OPEN:
        assert o.release(offer, PARTY_A).released
        return
    with pytest.raises(IllegalMove):
        o.release(offer, PARTY_A)


def test_a_joint_offer_has_nothing_to_release() -> None:
    with pytest.raises(IllegalMove) as caught:
        o.release(offer_by(PARTY_A, o.OfferStatus.OPEN), PARTY_A)
    assert caught.value.code == "offer_not_in_caucus"


# -- withdraw, submit, expire ------------------------------------------------------


@pytest.mark.parametrize("status", ALL)
def test_withdraw_from_every_status(status: o.OfferStatus) -> None:
    offer = offer_by(PARTY_A, status)
    if status in (o.OfferStatus.DRAFT, o.OfferStatus.OPEN):
        assert o.withdraw(offer, PARTY_A).status == o.OfferStatus.WITHDRAWN
        return
    with pytest.raises(IllegalMove) as caught:
        o.withdraw(offer, PARTY_A)
    assert caught.value.code == CLOSED_CODE[status]


@pytest.mark.parametrize("actor", [PARTY_B, MEDIATOR, INTERPRETER, STRANGER])
def test_only_the_author_withdraws(actor: o.Actor) -> None:
    with pytest.raises(NotAllowed) as caught:
        o.withdraw(offer_by(PARTY_A, o.OfferStatus.OPEN), actor)
    assert caught.value.code == "not_offer_author"


def test_a_party_cannot_withdraw_the_mediators_proposal() -> None:
    with pytest.raises(NotAllowed):
        o.withdraw(o.new_offer(MEDIATOR, "joint", {A, B}), PARTY_A)
    assert o.withdraw(o.new_offer(MEDIATOR, "joint", {A, B}), MEDIATOR).status == (
        o.OfferStatus.WITHDRAWN
    )


@pytest.mark.parametrize("status", ALL)
def test_submit_from_every_status(status: o.OfferStatus) -> None:
    offer = offer_by(PARTY_A, status)
    if status == o.OfferStatus.DRAFT:
        assert o.submit(offer, PARTY_A).status == o.OfferStatus.OPEN
        return
    with pytest.raises(IllegalMove) as caught:
        o.submit(offer, PARTY_A)
    assert caught.value.code == "offer_not_draft"


def test_only_the_author_submits_a_draft() -> None:
    with pytest.raises(NotAllowed):
        o.submit(offer_by(PARTY_A, o.OfferStatus.DRAFT), PARTY_B)


@pytest.mark.parametrize("status", ALL)
def test_expire_from_every_status(status: o.OfferStatus) -> None:
    offer = replace(offer_by(PARTY_A, status), expires_at=NOW)
    if status == o.OfferStatus.OPEN:
        assert o.expire(offer, NOW).status == o.OfferStatus.EXPIRED
        return
    with pytest.raises(IllegalMove):
        o.expire(offer, NOW)


def test_an_offer_does_not_expire_early_or_without_a_deadline() -> None:
    offer = offer_by(PARTY_A, o.OfferStatus.OPEN)
    with pytest.raises(IllegalMove) as caught:
        o.expire(offer, NOW)
    assert caught.value.code == "offer_not_due"
    later = replace(offer, expires_at=NOW + timedelta(hours=1))
    with pytest.raises(IllegalMove):
        o.expire(later, NOW)
