"""Where a session's media runs, and how any worker reaches it.

A session's media runs in one process, its *owner* (``server/media_owner.py``).
Without Redis that is the only process there is (``LocalRelay``). With Redis
(``RedisRelay``) the owner is recorded under ``<prefix>:media:owner:<session>``
with a lease it renews every few seconds. Any worker sends an operation to
the owner on the owner's channel (``<prefix>:media:ops:<owner>``) and waits
for the reply on its own (``<prefix>:media:replies:<worker>``). A
reconnecting participant's offer, whichever worker it reaches, finds the
owner through the key. When the owner is gone (its lease lapsed, or nobody
listens on its channel) the next offer claims the session; an owner that
cannot renew its lease closes that session's media rather than run it twice.

Only an offer claims a session: a move, mute or removal for a session with
no owner has nothing to change, and the next offer reads the seats afresh.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import socket
import time
from typing import TYPE_CHECKING, Any, Protocol

from rooms import RoomDenied, RoomError
from server.media_owner import OFFER_TIMEOUT_S, MediaOwner

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger(__name__)

LEASE_S = 10.0
"""How long an owner's record lives without a renewal."""
CALL_TIMEOUT_S = 5.0
"""How long a worker waits for the owner to answer an operation (not an offer)."""

# compare-and-set on the owner record: only the holder renews or releases it
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class MediaRelay(Protocol):
    """Runs a media operation in the process that owns the session's media."""

    async def call(
        self,
        session_id: int,
        op: str,
        args: dict[str, Any],
        *,
        claim: bool = False,
    ) -> dict[str, Any]:
        """Run ``op`` at the owner; with ``claim``, become the owner if none.

        Raises:
            RoomError: the owner refused (its code), or ``media_unavailable``
                when no owner can be reached.
        """
        ...

    async def start(self) -> None:
        """Begin serving operations for sessions this process owns."""
        ...

    async def stop(self) -> None:
        """Stop serving and give up every session this process owns."""
        ...


class LocalRelay:
    """One process, no Redis: this process owns the media of every session."""

    def __init__(self, owner: MediaOwner) -> None:
        self.owner = owner

    async def call(
        self,
        session_id: int,
        op: str,
        args: dict[str, Any],
        *,
        claim: bool = False,
    ) -> dict[str, Any]:
        """Run the operation here."""
        return await self.owner.dispatch(session_id, op, args)

    async def start(self) -> None:
        """Nothing to start."""

    async def stop(self) -> None:
        """Close every media connection."""
        await self.owner.close()


class RedisRelay:
    """Owner records with a lease in Redis; operations over Redis pub/sub."""

    def __init__(
        self,
        redis: Redis,
        owner: MediaOwner,
        prefix: str,
        *,
        lease_s: float = LEASE_S,
        timeout_s: float = CALL_TIMEOUT_S,
    ) -> None:
        self.redis = redis
        self.owner = owner
        self.prefix = prefix
        self.lease_s = lease_s
        self.timeout_s = timeout_s
        self.id = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"
        self.owned: set[int] = set()
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._listener: asyncio.Task[None] | None = None
        self._renewer: asyncio.Task[None] | None = None
        self._pubsub: Any = None
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._last_renewal = time.monotonic()
        owner.on_empty = self.release

    # -- names ------------------------------------------------------------------

    def owner_key(self, session_id: int) -> str:
        """The Redis key naming a session's media owner."""
        return f"{self.prefix}:media:owner:{session_id}"

    def _ops(self, owner: str) -> str:
        return f"{self.prefix}:media:ops:{owner}"

    def _replies(self, owner: str) -> str:
        return f"{self.prefix}:media:replies:{owner}"

    # -- lifecycle ----------------------------------------------------------------

    async def start(self) -> None:
        """Listen on this process's channels and keep its leases alive."""
        self._pubsub = self.redis.pubsub()
        await self._pubsub.subscribe(self._ops(self.id), self._replies(self.id))
        self._listener = asyncio.create_task(self._listen(), name="media-relay")
        self._renewer = asyncio.create_task(self._keep_leases(), name="media-lease")
        logger.info("media relay %s listening", self.id)

    async def stop(self) -> None:
        """Give up every owned session and stop listening."""
        for task in (self._listener, self._renewer, *self._tasks):
            if task is not None:
                task.cancel()
        await asyncio.gather(
            *(t for t in (self._listener, self._renewer, *self._tasks) if t),
            return_exceptions=True,
        )
        await self.owner.close()
        for session_id in list(self.owned):
            await self.release(session_id)
        if self._pubsub is not None:
            try:
                await self._pubsub.aclose()
            except Exception:
                logger.warning("media relay %s: closing pub/sub failed", self.id)

    async def release(self, session_id: int) -> None:
        """Stop owning a session (its last media participant left)."""
        self.owned.discard(session_id)
        try:
            await self._release(keys=[self.owner_key(session_id)], args=[self.id])
        except Exception:
            logger.warning("session %s: media owner record not released", session_id)
        logger.info("session %s: media released by %s", session_id, self.id)

    # -- calling the owner ------------------------------------------------------

    async def owner_of(self, session_id: int) -> str | None:
        """The id of the process owning a session's media, or None."""
        raw = await self.redis.get(self.owner_key(session_id))
        if raw is None:
            return None
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    async def call(
        self,
        session_id: int,
        op: str,
        args: dict[str, Any],
        *,
        claim: bool = False,
    ) -> dict[str, Any]:
        """Run ``op`` at the session's owner, claiming the session if asked."""
        for _ in range(3):
            owner = await self.owner_of(session_id)
            if owner is None:
                if not claim:
                    return {}
                claimed = await self.redis.set(
                    self.owner_key(session_id),
                    self.id,
                    nx=True,
                    px=int(self.lease_s * 1000),
                )
                if not claimed:
                    continue  # another worker claimed it first: ask that one
                logger.info("session %s: media now owned by %s", session_id, self.id)
                owner = self.id
            if owner == self.id:
                self.owned.add(session_id)
                return await self.owner.dispatch(session_id, op, args)

            reply = await self._request(owner, session_id, op, args)
            if reply is None:
                # nobody listens on the owner's channel: that process is gone
                logger.warning(
                    "session %s: media owner %s is gone; taking over",
                    session_id,
                    owner,
                )
                await self._release(keys=[self.owner_key(session_id)], args=[owner])
                continue
            if reply.get("not_owner"):
                continue
            error = reply.get("error")
            if isinstance(error, dict):
                raise RoomError(
                    str(error.get("message", "")),
                    code=str(error.get("code", "media_unavailable")),
                    field=error.get("field"),
                )
            result: dict[str, Any] = reply.get("result") or {}
            return result
        raise RoomDenied(
            "The media server of this session cannot be reached.",
            code="media_unavailable",
        )

    async def _request(
        self, owner: str, session_id: int, op: str, args: dict[str, Any]
    ) -> dict[str, Any] | None:
        request_id = secrets.token_hex(8)
        future: asyncio.Future[dict[str, Any]] = (
            asyncio.get_running_loop().create_future()
        )
        self._pending[request_id] = future
        message = {
            "id": request_id,
            "reply": self._replies(self.id),
            "session": session_id,
            "op": op,
            "args": args,
        }
        timeout = OFFER_TIMEOUT_S + self.timeout_s if op == "offer" else self.timeout_s
        try:
            receivers = await self.redis.publish(self._ops(owner), json.dumps(message))
            if not receivers:
                return None
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            logger.warning(
                "session %s: media owner %s did not answer %s within %.0f s",
                session_id,
                owner,
                op,
                timeout,
            )
            raise RoomDenied(
                "The media server of this session did not answer.",
                code="media_unavailable",
            ) from None
        finally:
            self._pending.pop(request_id, None)

    # -- serving as the owner ------------------------------------------------------

    async def _listen(self) -> None:
        replies = self._replies(self.id)
        while True:
            try:
                message = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=1.0
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning(
                    "media relay %s: Redis read failed (%s); retrying",
                    self.id,
                    type(exc).__name__,
                )
                await asyncio.sleep(1.0)
                continue
            if message is None:
                continue
            channel = message["channel"]
            if isinstance(channel, bytes):
                channel = channel.decode()
            try:
                data = json.loads(message["data"])
            except (TypeError, ValueError):
                logger.warning("media relay %s: unreadable message dropped", self.id)
                continue
            if channel == replies:
                future = self._pending.get(str(data.get("id")))
                if future is not None and not future.done():
                    future.set_result(data)
            else:
                self._spawn(self._serve(data))

    async def _serve(self, request: dict[str, Any]) -> None:
        session_id = int(request.get("session", 0))
        reply: dict[str, Any] = {"id": request.get("id")}
        if session_id not in self.owned and await self.owner_of(session_id) != self.id:
            reply["not_owner"] = True
        else:
            self.owned.add(session_id)
            try:
                reply["result"] = await self.owner.dispatch(
                    session_id, str(request.get("op")), dict(request.get("args") or {})
                )
            except RoomError as exc:
                reply["error"] = exc.to_ack()["error"]
            except Exception:
                logger.exception(
                    "session %s: media operation %s failed",
                    session_id,
                    request.get("op"),
                )
                reply["error"] = {
                    "code": "media_unavailable",
                    "message": "The media server failed to handle this.",
                }
        await self.redis.publish(str(request.get("reply")), json.dumps(reply))

    async def _keep_leases(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            try:
                for session_id in list(self.owned):
                    renewed = await self._renew(
                        keys=[self.owner_key(session_id)],
                        args=[self.id, int(self.lease_s * 1000)],
                    )
                    if not renewed:
                        logger.warning(
                            "session %s: media lease lost by %s; closing its media",
                            session_id,
                            self.id,
                        )
                        self.owned.discard(session_id)
                        await self.owner.abandon(session_id)
                self._last_renewal = time.monotonic()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning(
                    "media relay %s: lease renewal failed (%s)",
                    self.id,
                    type(exc).__name__,
                )
                # past the lease another worker may own these sessions now:
                # never run a session's media twice
                if time.monotonic() - self._last_renewal > self.lease_s:
                    for session_id in list(self.owned):
                        self.owned.discard(session_id)
                        await self.owner.abandon(session_id)

    def _spawn(self, coroutine: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
