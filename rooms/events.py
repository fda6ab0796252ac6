"""The event registry: how an event kind declares its schema, rights and handler.

The hub gives every registered kind the same guarantees: the token is
re-checked, the payload validated, the sender's role and placement checked,
a resend with the same client id returns the original, every line gets the
next sequence number and is committed before the ack and the broadcast, and
fan-out and replay go through the visibility rules.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rooms.errors import RoomDenied, RoomError
from rooms.model import LineSpec, Seat, SeatKind, SessionState, room_category
from rooms.ports import Claims, MediaRouter, RoomTx

ANYWHERE = frozenset({"lobby", "joint", "caucus"})
IN_ROOM = frozenset({"joint", "caucus"})
ALL_KINDS = frozenset(SeatKind)
SPEAKERS = frozenset(
    {
        SeatKind.PARTY,
        SeatKind.REPRESENTATIVE,
        SeatKind.MEDIATOR,
        SeatKind.INTERPRETER,
    }
)
MEDIATORS = frozenset({SeatKind.MEDIATOR})

CLIENT_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"


class Payload(BaseModel):
    """Base of every event payload: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class IdempotentPayload(Payload):
    """A payload whose event is written at most once per client id."""

    client_id: str = Field(pattern=CLIENT_ID_PATTERN)


@dataclass(frozen=True)
class RoomLimits:
    """The limits the hub enforces (from settings.rooms)."""

    max_message_chars: int = 4000
    events_per_10s: int = 30
    correction_window_s: int = 120
    max_participants: int = 20
    replay_page: int = 500
    max_pending_packets: int = 256
    # events of one session written in one transaction, at most
    write_batch: int = 64


@dataclass(frozen=True)
class Allow:
    """Who may send an event: seat kinds, placements, and session state."""

    kinds: frozenset[SeatKind]
    placements: frozenset[str] = ANYWHERE
    needs_open: bool = True

    def check(self, seat: Seat, session: SessionState) -> None:
        """Raise RoomDenied unless this seat may send the event now."""
        if seat.kind not in self.kinds:
            raise RoomDenied(f"A {seat.kind} may not do this.", code="forbidden_role")
        where = "lobby" if not seat.in_room else room_category(seat.placement)
        if seat.is_mediator:
            where = "joint"  # mediators are never in the lobby
        if where not in self.placements:
            raise RoomDenied(
                f"This cannot be done from the {where}.",
                code="forbidden_placement",
            )
        if self.needs_open and not session.is_open:
            raise RoomDenied(
                f"The session is {session.status}, not open.",
                code="session_not_open",
            )


@dataclass
class EventContext:
    """What a handler knows about the event it handles."""

    seat: Seat
    session: SessionState
    claims: Claims
    limits: RoomLimits
    now: datetime
    client_id: str | None = None
    media: MediaRouter | None = None
    # filled by handlers, run by the hub after the commit
    effects: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    disconnect: dict[int, str] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)
    # set by an after-commit step of an event that wrote no lines: the ack
    # becomes this error (media signalling, which must not hold the lock)
    error: RoomError | None = None

    def after_commit(self, effect: Callable[[], Awaitable[None]]) -> None:
        """Run this once the lines are committed and broadcast."""
        self.effects.append(effect)

    def refuse(self, error: RoomError) -> None:
        """Answer with this error instead of success (events writing no lines)."""
        self.error = error

    def disconnect_after(self, participant_id: int, reason: str) -> None:
        """Close every connection of a participant after the commit."""
        self.disconnect[participant_id] = reason

    @property
    def actor(self) -> str:
        """How the sender is named in the case event log."""
        return f"participant:{self.seat.id}"


Handler = Callable[[EventContext, Any, RoomTx], Awaitable[list[LineSpec]]]


@dataclass(frozen=True)
class EventSpec:
    """One registered event kind."""

    kind: str
    schema: type[BaseModel]
    allowed: Allow
    handler: Handler
    summary: str = ""
    errors: tuple[str, ...] = ()

    @property
    def idempotent(self) -> bool:
        return issubclass(self.schema, IdempotentPayload)


class EventRegistry:
    """Event kinds by name; the hub dispatches through it."""

    def __init__(self) -> None:
        self._specs: dict[str, EventSpec] = {}

    def register(
        self,
        kind: str,
        *,
        schema: type[BaseModel],
        allowed: Allow,
        handler: Handler,
        summary: str = "",
        errors: tuple[str, ...] = (),
    ) -> EventSpec:
        """Add an event kind; registering a name twice is a programming error."""
        if kind in self._specs:
            raise ValueError(f"event {kind!r} is registered already")
        if kind in RESERVED:
            raise ValueError(f"event name {kind!r} is reserved by the hub")
        spec = EventSpec(kind, schema, allowed, handler, summary, errors)
        self._specs[kind] = spec
        return spec

    def get(self, kind: str) -> EventSpec | None:
        """The spec of a kind, or None."""
        return self._specs.get(kind)

    def kinds(self) -> list[str]:
        """Every registered kind, sorted."""
        return sorted(self._specs)

    def specs(self) -> list[EventSpec]:
        """Every registered spec, sorted by kind."""
        return [self._specs[k] for k in self.kinds()]


# Socket.IO's own and the hub's control events cannot be registered
RESERVED = frozenset(
    {"connect", "disconnect", "connect_error", "message", "replay", "typing"}
)

# error codes every event can answer with (besides its own)
COMMON_ERRORS = (
    "invalid_input",
    "unknown_event",
    "rate_limited",
    "forbidden_role",
    "forbidden_placement",
    "session_not_open",
    "token_revoked",
    "token_expired",
    "not_joined",
    "removed",
    "internal_error",
)


def refuse(message: str, code: str) -> RoomError:
    """A denial with a stable code (a shorthand for handlers)."""
    return RoomDenied(message, code=code)
