"""What a negotiation action asks the room hub to append to the transcript."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# visibility values understood by the hub: a room key ("joint", "caucus-2"),
# MEDIATOR for staff running the session, or participant(<id>) for one person
MEDIATOR = "mediator"
JOINT = "joint"


def participant(participant_id: int) -> str:
    """The visibility of a line meant for one participant only."""
    return f"participant:{participant_id}"


@dataclass(frozen=True)
class LineSpec:
    """One transcript line to persist and fan out: kind, room, who sees it, content."""

    kind: str
    room: str
    visibility: str
    content: dict[str, Any] = field(default_factory=dict)
    # for a caucus line: the party sides that may read it (None: the sides
    # present in the caucus when it is written, as the hub decides)
    audience: tuple[int, ...] | None = None


@dataclass(frozen=True)
class NegotiationActor:
    """Who performs a room action, as the hub knows them when the event arrives.

    ``room`` is the participant's current placement ("joint" or a caucus key);
    ``role`` is the participant kind ("party", "mediator", "interpreter"...).
    """

    participant_id: int
    party_id: int | None
    role: str
    room: str
