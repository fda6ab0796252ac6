"""Presence in Redis, shared by every worker (rooms.Presence)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis


class RedisPresence:
    """One Redis set of ``<participant>:<sid>`` members per session."""

    def __init__(self, redis: Redis, prefix: str = "accord:presence") -> None:
        self.redis = redis
        self.prefix = prefix

    def _key(self, session_id: int) -> str:
        return f"{self.prefix}:{session_id}"

    async def join(self, session_id: int, participant_id: int, conn: str) -> None:
        """Record one connection of a participant."""
        await self.redis.sadd(self._key(session_id), f"{participant_id}:{conn}")

    async def leave(self, session_id: int, participant_id: int, conn: str) -> None:
        """Forget one connection of a participant."""
        await self.redis.srem(self._key(session_id), f"{participant_id}:{conn}")

    async def _members(self, session_id: int) -> list[tuple[int, str]]:
        raw = await self.redis.smembers(self._key(session_id))
        out = []
        for item in raw:
            text = item.decode() if isinstance(item, bytes) else str(item)
            pid, _, sid = text.partition(":")
            out.append((int(pid), sid))
        return out

    async def online(self, session_id: int) -> set[int]:
        """The participants with at least one live connection."""
        return {pid for pid, _ in await self._members(session_id)}

    async def connections(self, session_id: int, participant_id: int) -> set[str]:
        """The connection ids of one participant, on any worker."""
        return {
            sid for pid, sid in await self._members(session_id) if pid == participant_id
        }
