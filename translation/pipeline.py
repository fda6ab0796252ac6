"""The translation pipeline the room hub calls for every chat line.

The hub delivers the original line first, then calls
`TranslationPipeline.submit` with the languages of the readers entitled to
see it. ``submit`` never waits: it queues one job per target language and
returns. Workers (asyncio tasks; the heavy lifting happens in the backend's
own worker thread, process or remote service) translate each job, applying
the glossary and the cache, pivoting through English when needed, and call
the hub back once per target with a `TranslationResult`: either machine
output with its model version, or "unavailable" with an error code. Every
target of every submitted line gets exactly one result, even when the queue
is full, the backend fails or the time limit runs out.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from translation.cache import CacheKey, TranslationCache
from translation.errors import (
    ConfigurationError,
    TextTooLong,
    TranslationError,
    UnsupportedPair,
)
from translation.glossary import (
    GlossaryProvider,
    GlossaryTerm,
    ProtectedText,
    has_placeholder_lookalike,
    protect,
    restore,
)
from translation.routing import Route, plan_route
from translation.translator import LanguagePair, Translator

logger = logging.getLogger(__name__)

FULL_WARNING_INTERVAL_S = 60.0


class ResultStatus(enum.StrEnum):
    """Whether a translation exists for a line and target."""

    MACHINE = "machine"
    UNAVAILABLE = "unavailable"


class SubmitStatus(enum.StrEnum):
    """What `TranslationPipeline.submit` did with a line."""

    ACCEPTED = "accepted"
    NOTHING_TO_DO = "nothing_to_do"
    QUEUE_FULL = "queue_full"
    CLOSED = "closed"


@dataclass(frozen=True)
class LineForTranslation:
    """A chat line to translate into the languages of its entitled readers."""

    line_id: str
    text: str
    source: str
    targets: frozenset[str]
    case_id: str | None = None


@dataclass(frozen=True)
class TranslationResult:
    """One line in one target language: machine output, or unavailable."""

    line_id: str
    source: str
    target: str
    status: ResultStatus
    text: str | None = None
    model_version: str | None = None
    error_code: str | None = None
    from_cache: bool = False

    @property
    def is_machine_output(self) -> bool:
        """True when ``text`` holds a machine translation."""
        return self.status is ResultStatus.MACHINE

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form for socket events and transcript updates."""
        return {
            "line_id": self.line_id,
            "source": self.source,
            "target": self.target,
            "status": str(self.status),
            "text": self.text,
            "kind": "machine" if self.is_machine_output else None,
            "model_version": self.model_version,
            "error_code": self.error_code,
        }


ResultCallback = Callable[[TranslationResult], Awaitable[None]]
"""Receives each result; runs on the pipeline's event loop."""


@dataclass(frozen=True)
class _Job:
    line: LineForTranslation
    target: str
    on_result: ResultCallback


@dataclass
class PipelineStats:
    """Counters for metrics (never any text)."""

    accepted: int = 0
    refused: int = 0
    translated: int = 0
    unavailable: int = 0
    cache_hits: int = 0


class TranslationPipeline:
    """Queues chat lines for translation and reports each result by callback."""

    def __init__(
        self,
        translator: Translator,
        *,
        glossary: GlossaryProvider | None = None,
        cache: TranslationCache | None = None,
        max_pending: int = 256,
        timeout_s: float = 10.0,
        workers: int = 1,
        pivot_language: str = "en",
        max_text_chars: int = 5_000,
    ) -> None:
        if max_pending < 1 or workers < 1:
            raise ConfigurationError(
                f"expected max_pending >= 1 and workers >= 1, "
                f"got {max_pending} and {workers}"
            )
        self.translator = translator
        self.glossary = glossary
        self.cache = cache if cache is not None else TranslationCache()
        self.max_pending = max_pending
        self.timeout_s = timeout_s
        self.pivot_language = pivot_language
        self.max_text_chars = max_text_chars
        self.stats = PipelineStats()
        self._worker_count = workers
        self._queue: asyncio.Queue[_Job] = asyncio.Queue(maxsize=max_pending)
        self._workers: list[asyncio.Task[None]] = []
        self._callbacks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._last_full_warning = float("-inf")

    # lifecycle

    async def start(self) -> None:
        """Start the worker tasks (``submit`` also starts them on first use)."""
        self._ensure_workers()

    async def aclose(self) -> None:
        """Stop the workers, reporting unfinished jobs "closed"; keep the backend."""
        self._closed = True
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()
        while not self._queue.empty():
            job = self._queue.get_nowait()
            self._refuse(job.line, [job.target], job.on_result, SubmitStatus.CLOSED)
            self._queue.task_done()
        await asyncio.gather(*self._callbacks, return_exceptions=True)

    async def join(self) -> None:
        """Wait until every queued job has been reported (for tests and drains)."""
        await self._queue.join()
        while self._callbacks:
            await asyncio.gather(*list(self._callbacks), return_exceptions=True)

    @property
    def pending(self) -> int:
        """Jobs queued and not yet taken by a worker."""
        return self._queue.qsize()

    # the hub's entry points

    def submit(
        self, line: LineForTranslation, on_result: ResultCallback
    ) -> SubmitStatus:
        """Queue a line for each target language; never waits.

        Call it after the original line has been delivered. Results arrive
        later through ``on_result``, one per target other than the line's own
        language; in submission order when the pipeline has one worker.

        Args:
            line: the line, its language, and the languages of the readers
                entitled to see it (a caucus line: only the caucus members').
            on_result: called once per target with the result.

        Returns:
            ACCEPTED, NOTHING_TO_DO (no other language wanted), QUEUE_FULL or
            CLOSED; in the last two cases every target still gets an
            "unavailable" result with that status as its error code.
        """
        targets = sorted(t for t in line.targets if t != line.source)
        if not targets:
            return SubmitStatus.NOTHING_TO_DO

        if self._closed:
            self._refuse(line, targets, on_result, SubmitStatus.CLOSED)
            return SubmitStatus.CLOSED
        free = self.max_pending - self._queue.qsize()
        if free < len(targets):
            self._warn_full(line.line_id)
            self._refuse(line, targets, on_result, SubmitStatus.QUEUE_FULL)
            return SubmitStatus.QUEUE_FULL

        self._ensure_workers()
        for target in targets:
            self._queue.put_nowait(_Job(line, target, on_result))
        self.stats.accepted += len(targets)
        return SubmitStatus.ACCEPTED

    async def translate_now(
        self, text: str, source: str, target: str, case_id: str | None = None
    ) -> TranslationResult:
        """Translate one text directly, bypassing the queue (offers, agreements)."""
        line = LineForTranslation("", text, source, frozenset({target}), case_id)
        return await self._translate_job(line, target)

    async def targets_for(self, source: str) -> frozenset[str]:
        """The languages a line in ``source`` can currently be translated into.

        Empty when the backend cannot be reached, so a language menu degrades
        to "original only" rather than failing.
        """
        try:
            pairs = await self.translator.pairs()
        except TranslationError as exc:
            logger.warning("translation backend unreachable for pairs: %s", exc.code)
            return frozenset()
        targets = {pair.target for pair in pairs}
        return frozenset(
            t
            for t in targets
            if t != source and plan_route(pairs, source, t, self.pivot_language)
        )

    # internals

    def _ensure_workers(self) -> None:
        if self._workers or self._closed:
            return
        for number in range(self._worker_count):
            task = asyncio.create_task(
                self._work(), name=f"translation-worker-{number}"
            )
            self._workers.append(task)

    def _warn_full(self, line_id: str) -> None:
        # at most one warning a minute while saturated, not one per refused line
        now = time.monotonic()
        log = logger.debug
        if now - self._last_full_warning >= FULL_WARNING_INTERVAL_S:
            self._last_full_warning = now
            log = logger.warning
        log(
            "translation queue full (%d pending); line %s refused",
            self._queue.qsize(),
            line_id,
        )

    def _refuse(
        self,
        line: LineForTranslation,
        targets: Iterable[str],
        on_result: ResultCallback,
        status: SubmitStatus,
    ) -> None:
        self.stats.refused += 1
        for target in targets:
            result = TranslationResult(
                line.line_id,
                line.source,
                target,
                ResultStatus.UNAVAILABLE,
                error_code=str(status),
            )
            self._deliver_later(on_result, result)

    def _deliver_later(
        self, on_result: ResultCallback, result: TranslationResult
    ) -> None:
        # a task, not a direct call: the hub's submit() returns before any result
        task = asyncio.get_running_loop().create_task(self._deliver(on_result, result))
        self._callbacks.add(task)
        task.add_done_callback(self._callbacks.discard)

    async def _deliver(
        self, on_result: ResultCallback, result: TranslationResult
    ) -> None:
        try:
            await on_result(result)
        except Exception:
            logger.exception(
                "translation result callback failed for line %s (%s)",
                result.line_id,
                result.target,
            )

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            reported = False
            try:
                result = await self._translate_job(job.line, job.target)
                reported = True
                await self._deliver(job.on_result, result)
            except asyncio.CancelledError:
                # closing mid-job: the hub still gets its one result per target
                if not reported:
                    self._refuse(
                        job.line, [job.target], job.on_result, SubmitStatus.CLOSED
                    )
                raise
            except Exception:
                logger.exception(
                    "translation worker failed on line %s", job.line.line_id
                )
            finally:
                self._queue.task_done()

    async def _translate_job(
        self, line: LineForTranslation, target: str
    ) -> TranslationResult:
        try:
            async with asyncio.timeout(self.timeout_s):
                text, version, cached = await self._translate(line, target)
        except TimeoutError:
            return self._unavailable(line, target, "timeout")
        except TranslationError as exc:
            return self._unavailable(line, target, exc.code)
        except Exception as exc:
            logger.warning(
                "translation backend %s raised %s on line %s",
                self.translator.name,
                type(exc).__name__,
                line.line_id,
            )
            return self._unavailable(line, target, "backend_error")

        self.stats.translated += 1
        self.stats.cache_hits += int(cached)
        logger.debug("translated line %s into %s", line.line_id, target)
        return TranslationResult(
            line.line_id,
            line.source,
            target,
            ResultStatus.MACHINE,
            text=text,
            model_version=version,
            from_cache=cached,
        )

    def _unavailable(
        self, line: LineForTranslation, target: str, code: str
    ) -> TranslationResult:
        self.stats.unavailable += 1
        logger.info(
            "translation unavailable for line %s into %s: %s",
            line.line_id,
            target,
            code,
        )
        return TranslationResult(
            line.line_id, line.source, target, ResultStatus.UNAVAILABLE, error_code=code
        )

    async def _translate(
        self, line: LineForTranslation, target: str
    ) -> tuple[str, str, bool]:
        if len(line.text) > self.max_text_chars:
            # bounds the work one line can cause; chat lines are far shorter
            raise TextTooLong(
                f"expected at most {self.max_text_chars} characters to translate, "
                f"got {len(line.text)}"
            )
        pairs = await self.translator.pairs()
        route = plan_route(pairs, line.source, target, self.pivot_language)
        if route is None:
            raise UnsupportedPair(
                f"expected an installed pair {line.source}>{target} or a route "
                f"through {self.pivot_language!r}, got none"
            )
        version = "+".join(pairs[hop] for hop in route)

        terms: list[GlossaryTerm] = []
        if self.glossary is not None:
            terms = list(await self.glossary.terms(line.case_id, line.source, target))
        if not terms or has_placeholder_lookalike(line.text):
            text, cached = await self._along(route, pairs, line.text)
            return text, version, cached

        protected = protect(line.text, terms)
        translated, cached = await self._along(route, pairs, protected.text)
        restored = restore(translated, protected)
        if restored is None:
            # the model mangled a placeholder: translate around the terms
            restored, cached = await self._around_terms(route, pairs, protected)
        return restored, version, cached

    async def _along(
        self, route: Route, pairs: Mapping[LanguagePair, str], text: str
    ) -> tuple[str, bool]:
        all_cached = True
        for hop in route:
            key = CacheKey(text, hop.source, hop.target, pairs[hop])
            cached = self.cache.get(key)
            if cached is None:
                all_cached = False
                cached = await self.translator.translate(text, hop.source, hop.target)
                self.cache.put(key, cached)
            text = cached
        return text, all_cached

    async def _around_terms(
        self,
        route: Route,
        pairs: Mapping[LanguagePair, str],
        protected: ProtectedText,
    ) -> tuple[str, bool]:
        parts: list[str] = []
        all_cached = True
        for index, piece in enumerate(protected.pieces):
            if index % 2 == 1:
                parts.append(protected.outputs[index // 2])
                continue
            core = piece.strip()
            if not core:
                parts.append(piece)
                continue
            translated, cached = await self._along(route, pairs, core)
            all_cached = all_cached and cached
            lead = piece[: len(piece) - len(piece.lstrip())]
            trail = piece[len(piece.rstrip()) :]
            parts.append(f"{lead}{translated}{trail}")
        return "".join(parts), all_cached
