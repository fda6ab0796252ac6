"""Machine translation wired into the live room.

`install_translation` builds the configured translator, registers the
translation events and adds a line observer to the hub. For each chat line,
after it is committed and delivered, the observer submits its text to the
`TranslationPipeline` in the languages of the readers entitled to see it
(a caucus line: the caucus members' and the mediators' only). Each result
becomes a transcript update of that line (``translation``, same room,
visibility and audience), or a draft for the interpreter who handles it
(see server/room_translation_desk.py). Offers get their free-text terms
translated the same way. With the ``none`` backend nothing is observed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from rooms import (
    Line,
    LineSpec,
    RoomHub,
    RoomInvalid,
    RoomTx,
    Seat,
    SessionState,
    may_see,
)
from server.glossary import DatabaseGlossary
from server.room_translation_desk import (
    DRAFT,
    LANGUAGE,
    REFERRING,
    TRANSLATED,
    UPDATE,
    current_version,
    draft_spec,
    interpreters_for,
    reader_languages,
    session_mode,
    target_state,
    update_spec,
    withdrawn,
)
from server.room_translation_events import register_events
from server.services import Services
from server.settings import Settings
from translation import (
    LineForTranslation,
    ReleaseMode,
    TranslationError,
    TranslationPipeline,
    TranslationResult,
    Translator,
    build_translator,
    model_code,
)

logger = logging.getLogger(__name__)

# offer lines that put new terms on the table
OFFER_KINDS = ("offer.made", "offer.countered")
# a reader who switches language gets the latest lines translated again: at
# most this many, found among this many latest lines, so that a switch never
# fills the queue that live lines need
BACKFILL_LINES = 30
BACKFILL_WINDOW = 300


class TranslationMetrics:
    """Counts and timings of room translation, never any text."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.results = Counter(
            "accord_translation_results",
            "Translation results of room lines, by status and error code.",
            ["status", "error"],
            registry=registry,
        )
        self.seconds = Histogram(
            "accord_translation_seconds",
            "Time from submitting a line to committing its translation.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
            registry=registry,
        )


@dataclass(frozen=True)
class _Job:
    """Which version of which line a pipeline result belongs to."""

    session_id: int
    seq: int
    version: int
    submitted: float


def build_room_translator(settings: Settings) -> Translator | None:
    """The translator the settings ask for, or None for the ``none`` backend."""
    section = settings.translation
    if section.backend == "none":
        return None
    redis_url = settings.redis_url if section.queue == "redis" else None
    return build_translator(
        section.backend,
        packages_dir=section.packages_dir,
        libretranslate_url=section.libretranslate_url,
        libretranslate_api_key=section.libretranslate_api_key,
        timeout_s=section.timeout_s,
        redis_url=redis_url,
        redis_stream=f"{settings.rooms.redis_prefix}:translation",
        isolation=section.isolation,
        scratch_dir=settings.data_dir / "translation",
    )


class RoomTranslation:
    """The hub observer that translates chat lines and offers for their readers."""

    def __init__(self, hub: RoomHub, pipeline: TranslationPipeline) -> None:
        self.hub = hub
        self.pipeline = pipeline
        self.metrics = TranslationMetrics(hub.metrics.registry)

    # lifecycle

    async def start(self) -> None:
        """Start the pipeline and load the models (a failure only logs)."""
        await self.pipeline.start()
        try:
            pairs = await self.pipeline.translator.pairs()
        except TranslationError as exc:
            logger.warning(
                "translation backend %s not ready at start: %s; lines will show "
                "'translation unavailable' until it is",
                self.pipeline.translator.name,
                exc.code,
            )
            return
        logger.info(
            "room translation on (%s): %d pairs",
            self.pipeline.translator.name,
            len(pairs),
        )

    async def stop(self) -> None:
        """Stop the pipeline, then the backend."""
        await self.pipeline.aclose()
        await self.pipeline.translator.aclose()

    async def languages(self) -> list[str]:
        """Every language an installed model translates from or into."""
        try:
            pairs = await self.pipeline.translator.pairs()
        except TranslationError:
            return []
        return sorted({p.source for p in pairs} | {p.target for p in pairs})

    # the observer

    async def observe(self, line: Line) -> None:
        """Called by the hub for every committed line; returns at once for most."""
        kind = line.kind
        try:
            if kind in TRANSLATED:
                await self._submit(line, line.seq, line.seq, line.content)
            elif kind == "chat.correct" and line.ref_seq is not None:
                await self._retire(line.session_id, line.ref_seq, "superseded")
                await self._submit(line, line.ref_seq, line.seq, line.content)
            elif kind == "chat.withdraw" and line.ref_seq is not None:
                await self._retire(line.session_id, line.ref_seq, "withdrawn")
            elif kind in OFFER_KINDS:
                await self._translate_offer(line)
            elif kind == LANGUAGE:
                await self._backfill(line)
        except Exception:
            logger.exception(
                "translating line %s of session %s failed", line.seq, line.session_id
            )

    async def _submit(
        self,
        line: Line,
        seq: int,
        version: int,
        content: dict[str, Any],
        only: set[str] | None = None,
        loaded: tuple[SessionState, list[Seat]] | None = None,
    ) -> None:
        text = content.get("text")
        if not isinstance(text, str) or not text.strip():
            return
        session, seats = loaded or await self.hub.store.load(line.session_id)
        source = _source_language(line, content, seats)
        targets = reader_languages(seats, line) - {source}
        if only is not None:
            targets &= only
        if not targets:
            return
        job = _Job(line.session_id, seq, version, asyncio.get_running_loop().time())
        status = self.pipeline.submit(
            LineForTranslation(
                f"{line.session_id}:{seq}@{version}",
                text,
                source,
                frozenset(targets),
                str(session.case_id),
            ),
            partial(self._on_result, job),
        )
        logger.debug(
            "line %s of session %s submitted into %s: %s",
            seq,
            line.session_id,
            ",".join(sorted(targets)),
            status,
        )

    async def _on_result(self, job: _Job, result: TranslationResult) -> None:
        if result.error_code == "closed":
            return  # the server is stopping: the line keeps its original only
        self.metrics.results.labels(str(result.status), result.error_code or "").inc()
        body = {
            "target": result.target,
            "source": result.source,
            "version": job.version,
            "status": str(result.status),
            "text": result.text,
            "model": result.model_version,
            "error": result.error_code,
        }

        async def build(tx: RoomTx) -> Sequence[LineSpec]:
            original = await tx.line(job.seq)
            if original is None or withdrawn(original):
                return []
            referring = await tx.find_lines(REFERRING, ref_seq=job.seq)
            if current_version(original, referring) != job.version:
                return []  # corrected meanwhile: the new text is on its way
            state = target_state(original, referring, result.target)
            seats = await tx.seats()
            interpreters = interpreters_for(seats, original, result.target)
            specs = [draft_spec(original, seat, body) for seat in interpreters]
            if state.by_interpreter or state.published is not None:
                return specs  # an interpreter got there first
            held = (
                interpreters
                and result.is_machine_output
                and await session_mode(tx) is ReleaseMode.REVIEW_BEFORE_RELEASE
            )
            if not held:
                specs.append(update_spec(original, {**body, "approved_by": None}))
            return specs

        try:
            await self.hub.publish_built(job.session_id, build)
            elapsed = asyncio.get_running_loop().time() - job.submitted
            self.metrics.seconds.observe(elapsed)
        except RoomInvalid as exc:
            logger.info(
                "translation of line %s in session %s dropped: %s",
                job.seq,
                job.session_id,
                exc.code,
            )

    async def _retire(self, session_id: int, seq: int, status: str) -> None:
        """Hide earlier translations of a corrected or withdrawn line from readers."""

        async def build(tx: RoomTx) -> Sequence[LineSpec]:
            for ref in await tx.find_lines((UPDATE, DRAFT), ref_seq=seq):
                if ref.revision is None:
                    content = ref.content
                    await tx.revise(
                        ref.seq,
                        {
                            "target": content.get("target"),
                            "version": content.get("version"),
                            "status": status,
                        },
                    )
            return []

        await self.hub.publish_built(session_id, build)

    async def _backfill(self, line: Line) -> None:
        """A reader switched language: translate the recent lines they may see."""
        participant = line.content.get("participant")
        language = line.content.get("language")
        if not isinstance(participant, int) or not isinstance(language, str):
            return
        code = model_code(language)
        loaded = await self.hub.store.load(line.session_id)
        session, seats = loaded
        reader = next((s for s in seats if s.id == participant), None)
        if reader is None:
            return
        since = max(0, session.last_seq - BACKFILL_WINDOW)
        recent = await self.hub.store.lines_since(session.id, since, BACKFILL_WINDOW)
        # lines translated into this language already, and each line's latest text
        done = {
            ln.ref_seq
            for ln in recent
            if ln.kind == UPDATE and ln.content.get("target") == code
        }
        latest: dict[int, Line] = {}
        for ln in recent:
            if ln.kind == "chat.correct" and ln.ref_seq is not None:
                latest[ln.ref_seq] = ln
        wanted = [
            said
            for said in recent
            if said.kind in TRANSLATED
            and said.seq not in done
            and not withdrawn(said)
            and may_see(reader, said)
        ][-BACKFILL_LINES:]
        for said in wanted:
            text = latest.get(said.seq, said)
            await self._submit(
                said, said.seq, text.seq, text.content, only={code}, loaded=loaded
            )

    # offers

    async def _translate_offer(self, line: Line) -> None:
        offer = line.content.get("offer")
        if not isinstance(offer, dict):
            return
        texts = _offer_texts(offer)
        if not texts:
            return
        session, seats = await self.hub.store.load(line.session_id)
        source = _source_language(line, line.content, seats)
        targets = sorted(reader_languages(seats, line) - {source})
        for target in targets:
            content = await self._offer_translation(
                offer, texts, source, target, str(session.case_id)
            )
            await self.hub.publish_update(
                line.session_id, line.seq, kind=UPDATE, content=content
            )

    async def _offer_translation(
        self,
        offer: dict[str, Any],
        texts: list[tuple[str, str]],
        source: str,
        target: str,
        case_id: str,
    ) -> dict[str, Any]:
        results = await asyncio.gather(
            *(
                self.pipeline.translate_now(text, source, target, case_id)
                for _, text in texts
            )
        )
        failed = next((r for r in results if not r.is_machine_output), None)
        terms = [
            {"index": int(where), "text": r.text}
            for (where, _), r in zip(texts, results, strict=True)
            if where != "note" and r.is_machine_output
        ]
        note = next(
            (
                r.text
                for (where, _), r in zip(texts, results, strict=True)
                if where == "note" and r.is_machine_output
            ),
            None,
        )
        return {
            "target": target,
            "source": source,
            "offer_id": offer.get("id"),
            "status": "unavailable" if failed else "machine",
            "terms": terms,
            "note": note,
            "model": next((r.model_version for r in results if r.model_version), None),
            "error": failed.error_code if failed else None,
            # the offer as written is the text of record; this is a reading aid
            "record_language": source,
        }


def _offer_texts(offer: dict[str, Any]) -> list[tuple[str, str]]:
    """The free text of an offer: obligation terms by index, and its note."""
    texts = []
    for index, term in enumerate(offer.get("terms") or []):
        if isinstance(term, dict) and term.get("type") == "obligation":
            text = term.get("text")
            if isinstance(text, str) and text.strip():
                texts.append((str(index), text))
    note = offer.get("note")
    if isinstance(note, str) and note.strip():
        texts.append(("note", note))
    return texts


def _source_language(line: Line, content: dict[str, Any], seats: list[Seat]) -> str:
    declared = content.get("language")
    if isinstance(declared, str) and declared:
        return model_code(declared)
    author = next((s for s in seats if s.id == line.participant_id), None)
    return model_code(author.language if author is not None else "en")


def install_translation(services: Services, hub: RoomHub) -> RoomTranslation | None:
    """Register the translation events; with a backend, translate the room."""
    register_events(hub)
    translator = build_room_translator(services.settings)
    if translator is None:
        return None
    section = services.settings.translation
    pipeline = TranslationPipeline(
        translator,
        glossary=DatabaseGlossary(services.db),
        timeout_s=section.timeout_s,
        max_pending=section.max_pending,
    )
    room = RoomTranslation(hub, pipeline)
    hub.add_observer(room.observe)
    services.on_start.append(room.start)
    services.on_stop.append(room.stop)
    services.extras["room_translation"] = room
    return room


async def page_info(services: Services) -> dict[str, Any]:
    """What the room page needs to know: whether translation is on, and languages."""
    room: RoomTranslation | None = services.extras.get("room_translation")
    if room is None:
        return {"enabled": False, "languages": []}
    return {"enabled": True, "languages": await room.languages()}
