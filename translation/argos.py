"""The argostranslate backend: installed packages, run off the event loop.

The models run in one dedicated worker, either a child process (the default:
argostranslate and CTranslate2 never load into the server process, and a
crash or a long translation cannot stall chat) or a single thread of the
server process (lighter, for small deployments and tests). Either way one
worker owns every argostranslate object, because they are not thread-safe.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import threading
from collections.abc import Callable, Mapping
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Literal, NoReturn

from translation.argos_engine import (
    ArgosEngine,
    EngineConfig,
    lower_priority,
    process_initializer,
    process_load,
    process_translate,
)
from translation.errors import (
    BackendFailed,
    BackendUnavailable,
    ConfigurationError,
    TranslatorBusy,
    UnsupportedPair,
)
from translation.translator import LanguagePair

logger = logging.getLogger(__name__)

Isolation = Literal["process", "thread"]


class ArgosTranslator:
    """Translates with installed ``.argosmodel`` packages in one worker."""

    name = "argos"

    def __init__(
        self,
        packages_dir: Path | str,
        *,
        isolation: Isolation = "process",
        beam_size: int | None = None,
        # one thread leaves the other cores to the event loop; 0 = all cores
        intra_threads: int = 1,
        max_backlog: int = 32,
        scratch_dir: Path | str | None = None,
        # added to the worker's nice value: chat outranks translation for CPU
        niceness: int = 10,
    ) -> None:
        if isolation not in ("process", "thread"):
            raise ConfigurationError(
                f"expected isolation 'process' or 'thread', got {isolation!r}"
            )
        self._config = EngineConfig(
            packages_dir=Path(packages_dir),
            beam_size=beam_size,
            intra_threads=intra_threads,
            scratch_dir=Path(scratch_dir) if scratch_dir is not None else None,
            niceness=niceness,
        )
        self._isolation: Isolation = isolation
        self._max_backlog = max_backlog
        self._backlog = 0
        self._backlog_lock = threading.Lock()
        self._executor: concurrent.futures.Executor | None = None
        self._engine: ArgosEngine | None = None
        self._pairs: dict[LanguagePair, str] | None = None
        self._start_lock = asyncio.Lock()

    async def start(self) -> None:
        """Start the worker and load the packages (done lazily otherwise)."""
        async with self._start_lock:
            if self._pairs is not None:
                return
            self._executor = self._new_executor()
            try:
                if self._engine is not None:
                    loaded = await self._run(self._engine.load)
                else:
                    loaded = await self._run(process_load)
            except Exception as exc:
                await self._shutdown()
                raise BackendUnavailable(
                    "expected the argostranslate worker to load the packages in "
                    f"{self._config.packages_dir}, got {type(exc).__name__}: {exc}"
                ) from exc
            self._pairs = {LanguagePair(*pair): v for pair, v in loaded.items()}
            logger.info(
                "argos backend ready (%s worker): %s",
                self._isolation,
                ", ".join(sorted(str(p) for p in self._pairs)) or "no packages",
            )

    async def reload(self) -> None:
        """Restart the worker so newly installed packages are picked up."""
        await self._shutdown()
        await self.start()

    async def pairs(self) -> Mapping[LanguagePair, str]:
        """The installed pairs and their model versions."""
        await self.start()
        assert self._pairs is not None
        return dict(self._pairs)

    async def translate(self, text: str, source: str, target: str) -> str:
        """Translate on the worker; wait without blocking the event loop."""
        await self.start()
        assert self._pairs is not None
        if (source, target) not in self._pairs:
            raise UnsupportedPair(
                f"expected one of the installed pairs "
                f"{sorted(str(p) for p in self._pairs)}, got {source}>{target}"
            )

        # cancelled or timed-out calls may still occupy the worker: count
        # what the worker holds, not what the caller still waits for
        with self._backlog_lock:
            if self._backlog >= self._max_backlog:
                raise TranslatorBusy(
                    f"expected at most {self._max_backlog} lines waiting for the "
                    "argos worker, got a full backlog"
                )
            self._backlog += 1
        try:
            if self._engine is not None:
                future = self._submit(self._engine.translate, text, source, target)
            else:
                future = self._submit(process_translate, text, source, target)
        except BaseException as exc:
            self._release_backlog(None)
            if isinstance(exc, BrokenProcessPool):
                await self._worker_died(exc)
            raise
        future.add_done_callback(self._release_backlog)

        try:
            return await asyncio.wrap_future(future)
        except BrokenProcessPool as exc:
            await self._worker_died(exc)
        except (TranslatorBusy, asyncio.CancelledError):
            raise
        except Exception as exc:
            raise BackendFailed(
                f"expected a translation from argostranslate for {source}>{target}, "
                f"got {type(exc).__name__}"
            ) from exc

    async def aclose(self) -> None:
        """Stop the worker."""
        await self._shutdown()

    async def _worker_died(self, exc: BrokenProcessPool) -> NoReturn:
        # the worker died (out of memory, a crash): start afresh next time
        logger.warning("argos worker process died; it restarts on the next line")
        await self._shutdown()
        raise BackendUnavailable(
            f"expected the argos worker process to answer, got it dead: {exc}"
        ) from exc

    def _new_executor(self) -> concurrent.futures.Executor:
        if self._isolation == "thread":
            self._engine = ArgosEngine(self._config)
            return concurrent.futures.ThreadPoolExecutor(
                max_workers=1,
                thread_name_prefix="accord-argos",
                initializer=lower_priority,
                initargs=(self._config.niceness,),
            )
        # spawn, not fork: the server process has threads and an event loop
        return concurrent.futures.ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=process_initializer,
            initargs=(self._config,),
        )

    def _submit(
        self, fn: Callable[[str, str, str], str], *args: str
    ) -> concurrent.futures.Future[str]:
        assert self._executor is not None
        return self._executor.submit(fn, *args)

    async def _run(
        self, fn: Callable[[], dict[tuple[str, str], str]]
    ) -> dict[tuple[str, str], str]:
        assert self._executor is not None
        return await asyncio.wrap_future(self._executor.submit(fn))

    def _release_backlog(self, _future: object) -> None:
        with self._backlog_lock:
            self._backlog -= 1

    async def _shutdown(self) -> None:
        executor, self._executor = self._executor, None
        self._pairs = None
        self._engine = None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
