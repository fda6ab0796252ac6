"""The room's value objects: seats, session state, transcript lines."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import Any

LOBBY = "lobby"
JOINT = "joint"
CAUCUS_PREFIX = "caucus-"
CAUCUS_KEY = re.compile(r"^caucus-[a-z0-9][a-z0-9-]{0,30}$")


class SeatKind(enum.StrEnum):
    """Who a participant is in the room (same words as the database)."""

    PARTY = "party"
    REPRESENTATIVE = "representative"
    MEDIATOR = "mediator"
    INTERPRETER = "interpreter"
    OBSERVER = "observer"


# the kinds that belong to a party's side and may therefore sit in a caucus
SIDE_KINDS = frozenset({SeatKind.PARTY, SeatKind.REPRESENTATIVE, SeatKind.INTERPRETER})


class Visibility:
    """Constructors and parsers for a line's ``visibility`` string."""

    EVERYONE = "everyone"  # session notices: reaches the lobby too
    JOINT = "joint"
    MEDIATORS = "mediators"

    @staticmethod
    def caucus(key: str) -> str:
        return f"caucus:{key}"

    @staticmethod
    def participant(participant_id: int) -> str:
        return f"participant:{participant_id}"


def is_caucus(room: str) -> bool:
    """True for a caucus room key such as ``caucus-claimant``."""
    return bool(CAUCUS_KEY.match(room))


def room_category(placement: str) -> str:
    """``lobby``, ``joint`` or ``caucus``: what a placement is, for rules."""
    if placement in (LOBBY, JOINT):
        return placement
    return "caucus"


@dataclass(frozen=True)
class Seat:
    """A participant of one session as the room logic sees them."""

    id: int
    session_id: int
    case_id: int
    kind: SeatKind
    display_name: str
    placement: str = LOBBY
    admitted: bool = False
    party_id: int | None = None
    attached_party_id: int | None = None
    language: str = "en"
    muted: bool = False
    removed: bool = False
    denied: bool = False

    @property
    def side(self) -> int | None:
        """The party whose side this seat sits on (its own, or the one attached)."""
        if self.kind not in SIDE_KINDS:
            return None
        return self.party_id if self.party_id is not None else self.attached_party_id

    @property
    def is_mediator(self) -> bool:
        return self.kind == SeatKind.MEDIATOR

    @property
    def in_room(self) -> bool:
        """Admitted and placed in the joint room or a caucus, not the lobby."""
        return (
            self.admitted
            and self.placement != LOBBY
            and not self.removed
            and not self.denied
        )

    def public(self) -> dict[str, Any]:
        """What other participants may know about this seat."""
        return {
            "id": self.id,
            "kind": str(self.kind),
            "name": self.display_name,
            "language": self.language,
            "side": self.side,
        }


@dataclass(frozen=True)
class SessionState:
    """The session row as the room logic needs it."""

    id: int
    case_id: int
    status: str  # scheduled | open | ended
    locked: bool = False
    last_seq: int = 0
    rooms: dict[str, Any] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True)
class Line:
    """One persisted room event with its per-session sequence number."""

    seq: int
    session_id: int
    kind: str
    room: str
    visibility: str
    content: dict[str, Any]
    created_at: str
    participant_id: int | None = None
    audience: tuple[int, ...] = ()
    client_id: str | None = None
    batch_seq: int | None = None
    ref_seq: int | None = None
    # the latest version of the content for everyone but mediators, after a
    # correction or withdrawal; mediators keep seeing the original and updates
    revision: dict[str, Any] | None = None


@dataclass
class LineSpec:
    """A line a handler wants written; the hub assigns its seq and time."""

    kind: str
    room: str
    visibility: str
    content: dict[str, Any]
    audience: tuple[int, ...] | None = None  # None: computed for caucus lines
    ref_seq: int | None = None
    # when set, the referenced line's revision becomes this in the same
    # transaction (a correction, a withdrawal, a translation)
    revise: dict[str, Any] | None = None
