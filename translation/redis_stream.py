"""Translation workers fed by a Redis stream, for deployments on several hosts.

The server side uses `RedisStreamTranslator` as its pipeline's translator:
each call adds a job to the stream ``<stream>`` and waits for the answer on
its own reply stream ``<stream>:reply:<client id>``. Workers, wherever they
run, use `RedisTranslationWorker` around a local translator (usually
`ArgosTranslator`): they read jobs as a consumer group, so each job goes to
one worker, and advertise their pairs and model versions in the hash
``<stream>:pairs`` (which expires when no live worker renews it, so servers
stop queueing for pairs nobody serves). A job carries a deadline; a worker
skips jobs whose caller has already given up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from translation.errors import (
    BackendFailed,
    BackendUnavailable,
    TranslationError,
    TranslatorBusy,
    UnsupportedPair,
)
from translation.translator import LanguagePair, Translator

logger = logging.getLogger(__name__)

DEFAULT_STREAM = "accord:translation"
GROUP = "accord-translation-workers"
_BLOCK_MS = 500
_ERRORS: dict[str, type[TranslationError]] = {
    UnsupportedPair.code: UnsupportedPair,
    TranslatorBusy.code: TranslatorBusy,
    BackendUnavailable.code: BackendUnavailable,
}


class RedisStreamTranslator:
    """A translator that hands each job to remote workers through Redis."""

    name = "redis-stream"

    def __init__(
        self,
        redis_url: str,
        *,
        stream: str = DEFAULT_STREAM,
        job_timeout_s: float = 30.0,
        max_stream_len: int = 10_000,
        pairs_ttl_s: float = 10.0,
    ) -> None:
        self._redis: aioredis.Redis = aioredis.from_url(
            redis_url, decode_responses=True
        )
        self._stream = stream
        self._reply_key = f"{stream}:reply:{uuid.uuid4().hex}"
        self._job_timeout_s = job_timeout_s
        self._max_stream_len = max_stream_len
        self._pairs_ttl_s = pairs_ttl_s
        self._pairs: dict[LanguagePair, str] = {}
        self._pairs_at = float("-inf")
        self._waiting: dict[str, asyncio.Future[str]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def pairs(self) -> Mapping[LanguagePair, str]:
        """The pairs the live workers advertise."""
        now = time.monotonic()
        if now - self._pairs_at > self._pairs_ttl_s:
            try:
                raw: Any = await self._redis.hgetall(f"{self._stream}:pairs")
            except RedisError as exc:
                raise BackendUnavailable(
                    f"expected to read translation pairs from Redis, got {exc!r}"
                ) from exc
            self._pairs = {
                LanguagePair(*key.split(">", 1)): version
                for key, version in raw.items()
                if ">" in key
            }
            self._pairs_at = now
        return dict(self._pairs)

    async def translate(self, text: str, source: str, target: str) -> str:
        """Queue a job on the stream and wait for a worker's answer."""
        self._ensure_reader()
        job_id = uuid.uuid4().hex
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiting[job_id] = future
        try:
            await self._redis.xadd(
                self._stream,
                {
                    "job": job_id,
                    "reply": self._reply_key,
                    "text": text,
                    "source": source,
                    "target": target,
                    "deadline": f"{time.time() + self._job_timeout_s:.3f}",
                },
                maxlen=self._max_stream_len,
                approximate=True,
            )
            return await future
        except RedisError as exc:
            raise BackendUnavailable(
                f"expected to queue a translation job on Redis, got {exc!r}"
            ) from exc
        finally:
            self._waiting.pop(job_id, None)

    async def aclose(self) -> None:
        """Stop listening for answers and drop the reply stream."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        with contextlib.suppress(RedisError):
            await self._redis.delete(self._reply_key)
        await self._redis.aclose()

    def _ensure_reader(self) -> None:
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(
                self._read_replies(), name="translation-redis-replies"
            )

    async def _read_replies(self) -> None:
        last_id = "0-0"  # the reply stream is ours alone: read it from the start
        while True:
            try:
                answer: Any = await self._redis.xread(
                    {self._reply_key: last_id}, count=100, block=_BLOCK_MS
                )
            except RedisError:
                logger.warning(
                    "reading translation replies from Redis failed; retrying"
                )
                await asyncio.sleep(0.5)
                continue
            for _key, entries in answer:
                for entry_id, fields in entries:
                    last_id = entry_id
                    self._resolve(fields)

    def _resolve(self, fields: dict[str, str]) -> None:
        future = self._waiting.get(fields.get("job", ""))
        if future is None or future.done():
            return  # the caller gave up already
        if fields.get("status") == "ok":
            future.set_result(fields.get("text", ""))
            return
        code = fields.get("code", BackendFailed.code)
        error = _ERRORS.get(code, BackendFailed)
        future.set_exception(error(f"expected a translation from a worker, got {code}"))


class RedisTranslationWorker:
    """Consumes translation jobs from a Redis stream with a local translator."""

    def __init__(
        self,
        translator: Translator,
        redis_url: str,
        *,
        stream: str = DEFAULT_STREAM,
        consumer: str | None = None,
        reply_max_len: int = 1_000,
        advertise_ttl_s: int = 30,
    ) -> None:
        self.translator = translator
        self._redis: aioredis.Redis = aioredis.from_url(
            redis_url, decode_responses=True
        )
        self._stream = stream
        self._consumer = consumer or f"worker-{uuid.uuid4().hex[:8]}"
        self._reply_max_len = reply_max_len
        self._advertise_ttl_s = advertise_ttl_s
        self._advertised_at = float("-inf")
        self._stopping = asyncio.Event()
        self.processed = 0

    async def advertise(self) -> None:
        """Publish this worker's pairs; they expire unless a live worker renews."""
        pairs = await self.translator.pairs()
        key = f"{self._stream}:pairs"
        if pairs:
            await self._redis.hset(
                key, mapping={str(pair): version for pair, version in pairs.items()}
            )
            await self._redis.expire(key, self._advertise_ttl_s)
        self._advertised_at = time.monotonic()

    async def run(self) -> None:
        """Serve jobs until `stop` is called."""
        await self.advertise()
        with contextlib.suppress(ResponseError):  # the group exists already
            await self._redis.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
        logger.info("translation worker %s consuming %s", self._consumer, self._stream)

        while not self._stopping.is_set():
            try:
                if time.monotonic() - self._advertised_at > self._advertise_ttl_s / 3:
                    await self.advertise()
                answer: Any = await self._redis.xreadgroup(
                    GROUP,
                    self._consumer,
                    {self._stream: ">"},
                    count=1,
                    block=_BLOCK_MS,
                )
            except RedisError:
                logger.warning(
                    "translation worker %s lost Redis; retrying", self._consumer
                )
                await asyncio.sleep(0.5)
                continue
            for _key, entries in answer:
                for entry_id, fields in entries:
                    await self._handle(entry_id, fields)

    def stop(self) -> None:
        """Ask `run` to return after the current job."""
        self._stopping.set()

    async def aclose(self) -> None:
        """Close the Redis connection (the translator stays the caller's)."""
        await self._redis.aclose()

    async def _handle(self, entry_id: str, fields: dict[str, str]) -> None:
        reply: dict[str, Any] = {"job": fields.get("job", "")}
        if time.time() > float(fields.get("deadline", "inf")):
            reply |= {"status": "error", "code": "timeout"}
        else:
            try:
                text = await self.translator.translate(
                    fields["text"], fields["source"], fields["target"]
                )
                reply |= {"status": "ok", "text": text}
            except TranslationError as exc:
                reply |= {"status": "error", "code": exc.code}
            except Exception:
                logger.exception("translation worker %s failed a job", self._consumer)
                reply |= {"status": "error", "code": BackendFailed.code}

        reply_key = fields.get("reply")
        if reply_key:
            await self._redis.xadd(
                reply_key,
                cast(dict[Any, Any], reply),
                maxlen=self._reply_max_len,
                approximate=True,
            )
        await self._redis.xack(self._stream, GROUP, entry_id)
        await self._redis.xdel(self._stream, entry_id)
        self.processed += 1
