"""The pure visibility and placement rules, exhaustively over small worlds."""

from __future__ import annotations

import itertools

import pytest

from rooms.model import JOINT, LOBBY, Line, Seat, SeatKind, Visibility
from rooms.visibility import (
    caucus_audience,
    delivers_live,
    followers,
    may_enter,
    may_see,
    project,
)

PLACEMENTS = (LOBBY, JOINT, "caucus-a", "caucus-b")
KINDS = tuple(SeatKind)


def seat(
    pid: int,
    kind: SeatKind,
    placement: str,
    *,
    party: int | None = None,
    attached: int | None = None,
    admitted: bool = True,
    removed: bool = False,
) -> Seat:
    return Seat(
        pid,
        1,
        1,
        kind,
        f"p{pid}",
        placement,
        admitted,
        party_id=party,
        attached_party_id=attached,
        removed=removed,
    )


def line(visibility: str, room: str, audience: tuple[int, ...] = ()) -> Line:
    return Line(1, 1, "chat", room, visibility, {"text": "x"}, "t", 9, audience)


def all_seats() -> list[Seat]:
    out = []
    pid = 0
    for kind, placement, admitted, removed in itertools.product(
        KINDS, PLACEMENTS, (True, False), (False, True)
    ):
        pid += 1
        party = 10 if kind == SeatKind.PARTY else None
        attached = (
            10 if kind in (SeatKind.INTERPRETER, SeatKind.REPRESENTATIVE) else None
        )
        out.append(
            seat(
                pid,
                kind,
                placement,
                party=party,
                attached=attached,
                admitted=admitted,
                removed=removed,
            )
        )
    return out


@pytest.mark.parametrize(
    "viewer",
    all_seats(),
    ids=lambda s: f"{s.kind}-{s.placement}-{s.admitted}-{s.removed}",
)
def test_visibility_rules_hold_for_every_seat(viewer: Seat) -> None:
    own_side_caucus = line(Visibility.caucus("caucus-a"), "caucus-a", (10,))
    other_caucus = line(Visibility.caucus("caucus-b"), "caucus-b", (20,))
    joint = line(Visibility.JOINT, JOINT)
    mediators = line(Visibility.MEDIATORS, JOINT)
    to_me = line(Visibility.participant(viewer.id), LOBBY)
    to_other = line(Visibility.participant(viewer.id + 100000), LOBBY)
    notice = line(Visibility.EVERYONE, JOINT)

    gone = viewer.removed
    in_room = viewer.admitted and viewer.placement != LOBBY and not gone
    mediator = viewer.kind == SeatKind.MEDIATOR and not gone

    # a notice addressed to you always reaches you; others' never do
    assert may_see(viewer, to_me)
    assert may_see(viewer, to_other) == mediator
    assert may_see(viewer, notice) == (not gone)
    assert may_see(viewer, mediators) == mediator
    # the lobby gets nothing from any room
    assert may_see(viewer, joint) == (mediator or in_room)
    # another side's caucus: only mediators, ever
    assert may_see(viewer, other_caucus) == mediator
    side_kind = viewer.kind in (
        SeatKind.PARTY,
        SeatKind.REPRESENTATIVE,
        SeatKind.INTERPRETER,
    )
    assert may_see(viewer, own_side_caucus) == (mediator or (in_room and side_kind))

    # live delivery is never wider than entitlement, and needs the room
    for item in (
        own_side_caucus,
        other_caucus,
        joint,
        mediators,
        to_me,
        to_other,
        notice,
    ):
        if delivers_live(viewer, item):
            assert may_see(viewer, item)
            if (
                not mediator
                and item.visibility in (Visibility.JOINT,)
                or item.visibility.startswith("caucus:")
                and not mediator
            ):
                assert viewer.placement == item.room


def test_caucus_audience_is_the_sides_present_and_admitted() -> None:
    seats = [
        seat(1, SeatKind.PARTY, "caucus-a", party=10),
        seat(2, SeatKind.INTERPRETER, "caucus-a", attached=10),
        seat(3, SeatKind.PARTY, JOINT, party=20),
        seat(4, SeatKind.MEDIATOR, JOINT),
        seat(5, SeatKind.OBSERVER, "caucus-a"),
        seat(6, SeatKind.PARTY, "caucus-a", party=30, admitted=False),
    ]
    assert caucus_audience(seats, "caucus-a") == (10,)
    assert caucus_audience(seats, "caucus-b") == ()


def test_a_late_joiner_never_sees_earlier_caucus_lines() -> None:
    said = line(Visibility.caucus("caucus-a"), "caucus-a", (10,))
    newcomer = seat(7, SeatKind.PARTY, "caucus-a", party=20)
    assert not may_see(newcomer, said)
    assert not delivers_live(newcomer, said)


def test_interpreter_and_representative_follow_their_party() -> None:
    seats = [
        seat(1, SeatKind.PARTY, JOINT, party=10),
        seat(2, SeatKind.INTERPRETER, JOINT, attached=10),
        seat(3, SeatKind.REPRESENTATIVE, JOINT, attached=10),
        seat(4, SeatKind.INTERPRETER, JOINT, attached=20),
        seat(5, SeatKind.PARTY, JOINT, party=20),
    ]
    moved = followers(seats, [seats[0]])
    assert sorted(s.id for s in moved) == [1, 2, 3]
    assert sorted(s.id for s in followers(seats, [seats[4]])) == [4, 5]
    # moving an interpreter alone moves only them
    assert [s.id for s in followers(seats, [seats[1]])] == [2]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("placement", (*PLACEMENTS, "nowhere", "caucus-"))
def test_who_may_enter_where(kind: SeatKind, placement: str) -> None:
    allowed = may_enter(seat(1, kind, LOBBY), placement)
    if placement in (LOBBY, JOINT):
        assert allowed
    elif placement.startswith("caucus-") and len(placement) > len("caucus-"):
        assert allowed == (
            kind in (SeatKind.PARTY, SeatKind.REPRESENTATIVE, SeatKind.INTERPRETER)
        )
    else:
        assert not allowed


def test_revisions_hide_the_original_from_all_but_mediators() -> None:
    original = Line(
        3,
        1,
        "chat",
        JOINT,
        Visibility.JOINT,
        {"text": "oops"},
        "t",
        9,
        revision={"withdrawn": True},
    )
    party = seat(1, SeatKind.PARTY, JOINT, party=10)
    mediator = seat(2, SeatKind.MEDIATOR, JOINT)
    assert project(party, original)["content"] == {"withdrawn": True}
    assert "oops" not in str(project(party, original))
    assert project(mediator, original)["content"] == {"text": "oops"}
    assert project(mediator, original)["revision"] == {"withdrawn": True}
