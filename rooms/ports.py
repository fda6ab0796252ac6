"""The interfaces the room logic needs; ``server/`` supplies implementations."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from rooms.model import Line, LineSpec, Seat, SessionState


@dataclass(frozen=True)
class Claims:
    """What a verified join token says: whose seat, in which session, until when."""

    case_id: int
    session_id: int
    participant_id: int
    role: str
    expires_at: float
    version: int = 0
    extra: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class EvidenceInfo:
    """What the room may say about an evidence item shared into it."""

    id: int
    case_id: int
    name: str
    sha256: str
    content_type: str
    party_id: int | None
    private: bool


class RoomTx(Protocol):
    """One write transaction on one session, holding its sequence lock."""

    session: SessionState

    async def seats(self) -> list[Seat]:
        """Every participant of the session, as of now inside the transaction."""
        ...

    async def seat(self, participant_id: int) -> Seat | None:
        """One participant of this session, or None."""
        ...

    async def update_seat(self, participant_id: int, **changes: Any) -> Seat:
        """Change a participant's placement, admission, mute, removal or language."""
        ...

    async def update_session(self, **changes: Any) -> SessionState:
        """Change the session's status or lock."""
        ...

    async def find_batch(self, participant_id: int, client_id: str) -> list[Line]:
        """The lines an earlier event with this client id wrote ([] if none)."""
        ...

    async def line(self, seq: int) -> Line | None:
        """One line of this session by its sequence number."""
        ...

    async def find_lines(
        self, kinds: Collection[str], *, ref_seq: int | None = None
    ) -> list[Line]:
        """Lines of these kinds (that update ``ref_seq``, when given), in seq order."""
        ...

    async def append(
        self,
        spec: LineSpec,
        *,
        participant_id: int | None,
        client_id: str | None,
        batch_seq: int | None,
        audience: tuple[int, ...],
    ) -> Line:
        """Write a line with the next sequence number of the session."""
        ...

    async def revise(self, seq: int, revision: dict[str, Any]) -> None:
        """Replace what non-mediators see of an earlier line."""
        ...

    async def evidence(self, evidence_id: int) -> EvidenceInfo | None:
        """An evidence item of this session's case, or None."""
        ...

    async def log_case_event(
        self, kind: str, actor: str, payload: dict[str, Any]
    ) -> None:
        """Append to the case's hash-chained event log in this transaction."""
        ...


class RoomStore(Protocol):
    """Durable room state: sessions, seats and the transcript lines."""

    def transaction(self, session_id: int) -> AbstractAsyncContextManager[RoomTx]:
        """A write transaction that serialises writers of one session.

        Raises:
            RoomError: ``session_not_found`` when there is no such session.
        """
        ...

    async def load(self, session_id: int) -> tuple[SessionState, list[Seat]]:
        """The session and its seats, read outside any write transaction."""
        ...

    async def lines_since(
        self, session_id: int, since: int, limit: int
    ) -> Sequence[Line]:
        """Lines with seq > since, in seq order, at most ``limit`` of them."""
        ...


class TokenVerifier(Protocol):
    """Verifies join tokens at connect and re-checks them on every event."""

    async def verify(self, token: str) -> Claims:
        """The claims of a valid token.

        Raises:
            RoomAuthError: forged, expired or revoked (``token_invalid``,
                ``token_expired``, ``token_revoked``).
        """
        ...

    async def recheck(self, claims: Claims) -> None:
        """Raise RoomAuthError if the token was revoked, expired or its role changed.

        Called on every event; implementations may cache a positive answer for
        at most one second.
        """
        ...


class Presence(Protocol):
    """Who is connected now; live only, never persisted with the transcript."""

    async def join(self, session_id: int, participant_id: int, conn: str) -> None:
        """Record one connection of a participant."""
        ...

    async def leave(self, session_id: int, participant_id: int, conn: str) -> None:
        """Forget one connection of a participant."""
        ...

    async def online(self, session_id: int) -> set[int]:
        """The participants with at least one live connection."""
        ...

    async def connections(self, session_id: int, participant_id: int) -> set[str]:
        """The connection ids (Socket.IO sids) of one participant, on any worker."""
        ...


class MediaRouter(Protocol):
    """The media side (recording/): follows placements so media obeys caucuses."""

    async def handle_offer(
        self, participant_id: int, sdp: str, type: str
    ) -> tuple[str, str]:
        """Answer a WebRTC offer; returns (sdp, type)."""
        ...

    async def set_placement(self, participant_id: int, room_key: str | None) -> None:
        """Route this participant's media to the room only (None: to nobody)."""
        ...

    async def set_muted(self, participant_id: int, audio: bool, video: bool) -> None:
        """Stop or resume forwarding a participant's audio or video."""
        ...

    async def remove(self, participant_id: int) -> None:
        """Tear down a participant's media."""
        ...

    async def disconnected(self, participant_id: int) -> None:
        """The participant's last connection closed: tear down their media."""
        ...


class LineObserver(Protocol):
    """Called after a line is committed and broadcast (translation plugs in here)."""

    async def __call__(self, line: Line) -> None: ...
