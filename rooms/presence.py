"""Presence in process memory (one process); server/ supplies a Redis one."""

from __future__ import annotations


class MemoryPresence:
    """Connections per participant, kept in this process only."""

    def __init__(self) -> None:
        self._conns: dict[int, dict[int, set[str]]] = {}

    async def join(self, session_id: int, participant_id: int, conn: str) -> None:
        """Record one connection of a participant."""
        self._conns.setdefault(session_id, {}).setdefault(participant_id, set()).add(
            conn
        )

    async def leave(self, session_id: int, participant_id: int, conn: str) -> None:
        """Forget one connection of a participant."""
        people = self._conns.get(session_id, {})
        conns = people.get(participant_id)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del people[participant_id]
        if not people:
            self._conns.pop(session_id, None)

    async def online(self, session_id: int) -> set[int]:
        """The participants with at least one live connection."""
        return set(self._conns.get(session_id, {}))

    async def connections(self, session_id: int, participant_id: int) -> set[str]:
        """The connection ids of one participant."""
        return set(self._conns.get(session_id, {}).get(participant_id, set()))
