"""Counts attempts per key in a fixed window, in memory or in Redis."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis


class Throttle:
    """Allows ``limit`` attempts per ``window_s`` seconds for each key."""

    def __init__(
        self,
        name: str,
        limit: int,
        window_s: int,
        redis: Redis | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.limit = limit
        self.window_s = window_s
        self.redis = redis
        self.clock = clock
        self._local: dict[str, tuple[float, int]] = {}

    async def hit(self, key: str) -> bool:
        """Count one attempt; False when the key is over its limit."""
        if self.redis is not None:
            rkey = f"accord:throttle:{self.name}:{key}"
            count = await self.redis.incr(rkey)
            if count == 1:
                await self.redis.expire(rkey, self.window_s)
            return int(count) <= self.limit

        now = self.clock()
        start, count = self._local.get(key, (now, 0))
        if now - start >= self.window_s:
            start, count = now, 0
        count += 1
        self._local[key] = (start, count)
        if len(self._local) > 100_000:
            self._forget_expired(now)
        return count <= self.limit

    async def reset(self, key: str) -> None:
        """Forget a key's attempts (after a successful sign-in)."""
        if self.redis is not None:
            await self.redis.delete(f"accord:throttle:{self.name}:{key}")
        self._local.pop(key, None)

    def _forget_expired(self, now: float) -> None:
        self._local = {
            k: v for k, v in self._local.items() if now - v[0] < self.window_s
        }
