"""Binds the room logic to python-socketio: one namespace, one pipeline per event.

An event's path: rate limit, token re-check, schema, role and placement,
idempotency on the client id, handler, sequence numbers and commit, then the
acknowledgement and the visibility-filtered fan-out. Lines are emitted to
per-participant Socket.IO rooms (``p:<id>``), never to shared room channels:
the recipients of a line are computed from the seats committed with it, so a
move on one worker cannot race a broadcast on another.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import socketio
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rooms.errors import RoomAuthError, RoomDenied, RoomError, RoomInvalid
from rooms.events import (
    Allow,
    EventContext,
    EventRegistry,
    EventSpec,
    Handler,
    RoomLimits,
)
from rooms.limits import RateLimiter
from rooms.metrics import RoomMetrics
from rooms.model import LOBBY, Line, LineSpec, Seat, SessionState, is_caucus
from rooms.ports import (
    Claims,
    LineObserver,
    MediaRouter,
    Presence,
    RoomStore,
    RoomTx,
    TokenVerifier,
)
from rooms.visibility import (
    caucus_audience,
    delivers_live,
    may_see,
    project,
    wire,
)

logger = logging.getLogger(__name__)

NAMESPACE = "/room"


class ReplayBody(BaseModel):
    """Ask for every line after ``since`` that you may see."""

    model_config = ConfigDict(extra="forbid")
    since: int = Field(default=0, ge=0)


class TypingBody(BaseModel):
    """Tell your room you are (or stopped) typing; never stored."""

    model_config = ConfigDict(extra="forbid")
    active: bool = True


def _utcnow() -> datetime:
    return datetime.now(UTC)


def participant_room(participant_id: int) -> str:
    """The Socket.IO room holding every connection of one participant."""
    return f"p:{participant_id}"


def session_room(session_id: int) -> str:
    """The Socket.IO room holding every connection of one session."""
    return f"s:{session_id}"


class _Rollback(Exception):
    """Raised inside a batch's transaction to roll it back."""


@dataclass
class _Job:
    """One event waiting for its session's writer."""

    spec: EventSpec
    claims: Claims
    payload: BaseModel
    done: asyncio.Future[dict[str, Any]]


@dataclass
class _Outcome:
    """What one event of a batch wrote (or the lines of its earlier twin)."""

    ctx: EventContext | None = None
    lines: list[Line] = field(default_factory=list)
    seats: list[Seat] = field(default_factory=list)
    roster_changed: bool = False
    duplicate: list[Line] | None = None


class RoomHub:
    """The live mediation hub on a python-socketio server."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        store: RoomStore,
        tokens: TokenVerifier,
        presence: Presence,
        *,
        limits: RoomLimits | None = None,
        media: MediaRouter | None = None,
        metrics: RoomMetrics | None = None,
        namespace: str = NAMESPACE,
        clock: Callable[[], datetime] = _utcnow,
        after_commit_hook: Callable[[str], None] | None = None,
    ) -> None:
        self.sio = sio
        self.store = store
        self.tokens = tokens
        self.presence = presence
        self.limits = limits or RoomLimits()
        self.media = media
        self.metrics = metrics or RoomMetrics()
        self.namespace = namespace
        self.clock = clock
        # a test seam: called between commit and ack (the crash test kills here)
        self.after_commit_hook = after_commit_hook
        self.registry = EventRegistry()
        self.observers: list[LineObserver] = []
        self.rate = RateLimiter(self.limits.events_per_10s, 10.0)
        self._local_sessions: dict[int, int] = {}
        # writers of one session queue here first, so that only one of this
        # process's writers at a time waits on the database's lock
        self._write_locks: dict[int, asyncio.Lock] = {}
        # events waiting for their session's writer, and the running writers
        self._queues: dict[int, collections.deque[_Job]] = {}
        self._writers: dict[int, asyncio.Future[None]] = {}
        self._tasks: set[asyncio.Future[None]] = set()

        from rooms import chat, moderation

        chat.register(self.registry)
        moderation.register(self.registry)

    # -- the extension API ---------------------------------------------------

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
        """Add an event kind with the hub's guarantees (see docs/rooms.md).

        Args:
            kind: the Socket.IO event name, e.g. ``"offer.make"``.
            schema: the pydantic payload model; subclass ``IdempotentPayload``
                to require a ``client_id`` and get exactly-once writes.
            allowed: who may send it (seat kinds, placements, open session).
            handler: ``async (ctx, payload, tx) -> list[LineSpec]``; runs inside
                the session's write transaction.
            summary: one line for docs/protocol.md.
            errors: the event's own error codes.

        Returns:
            The registered spec.
        """
        return self.registry.register(
            kind,
            schema=schema,
            allowed=allowed,
            handler=handler,
            summary=summary,
            errors=errors,
        )

    def add_observer(self, observer: LineObserver) -> None:
        """Call ``observer(line)`` after every committed and broadcast line."""
        self.observers.append(observer)

    async def publish(
        self,
        session_id: int,
        specs: Sequence[LineSpec],
        *,
        participant_id: int | None = None,
        mutate: Callable[[RoomTx], Awaitable[None]] | None = None,
    ) -> list[Line]:
        """Write lines from outside a socket event (a translation, a server notice).

        ``mutate`` may change the session or seats in the same transaction.
        Each line gets its own seq, is committed, then fanned out like any other.
        """
        async with self._transaction(session_id) as tx:
            if mutate is not None:
                await mutate(tx)
            seats = await tx.seats()
            lines = await self._append_all(tx, seats, specs, participant_id, None)
            seats = await tx.seats()
        await self._fan_out(lines, seats)
        if mutate is not None:
            await self.push_roster(session_id)
        return lines

    async def publish_update(
        self,
        session_id: int,
        ref_seq: int,
        *,
        kind: str,
        content: dict[str, Any],
        revision: dict[str, Any] | None = None,
        participant_id: int | None = None,
    ) -> Line:
        """Publish an update to an existing line (translation, correction).

        The update is a line of its own with the next seq, the same room,
        visibility and audience as the line it updates, so replay carries it
        to exactly those who could see the original. ``revision``, when given,
        replaces what non-mediators see of the original.

        Raises:
            RoomInvalid: ``line_not_found`` when ``ref_seq`` is not a line.
        """
        async with self._transaction(session_id) as tx:
            original = await tx.line(ref_seq)
            if original is None:
                raise RoomInvalid(f"No line #{ref_seq}.", code="line_not_found")
            spec = LineSpec(
                kind,
                original.room,
                original.visibility,
                content,
                audience=original.audience,
                ref_seq=ref_seq,
                revise=revision,
            )
            seats = await tx.seats()
            (line,) = await self._append_all(tx, seats, [spec], participant_id, None)
            seats = await tx.seats()
        await self._fan_out([line], seats)
        return line

    async def publish_built(
        self,
        session_id: int,
        build: Callable[[RoomTx], Awaitable[Sequence[LineSpec]]],
        *,
        participant_id: int | None = None,
    ) -> list[Line]:
        """Write the lines ``build(tx)`` decides on, inside the session's lock.

        For server-side updates that depend on the transcript as it stands
        (whether a translation is still current, whether an interpreter has
        released it): ``build`` reads through ``tx`` and returns the specs,
        possibly none. Fanned out like any other line; no roster push.
        """
        async with self._transaction(session_id) as tx:
            specs = await build(tx)
            if not specs:
                return []
            seats = await tx.seats()
            lines = await self._append_all(tx, seats, specs, participant_id, None)
            seats = await tx.seats()
        await self._fan_out(lines, seats)
        return lines

    @contextlib.asynccontextmanager
    async def _transaction(self, session_id: int) -> AsyncIterator[RoomTx]:
        lock = self._write_locks.setdefault(session_id, asyncio.Lock())
        async with lock, self.store.transaction(session_id) as tx:
            yield tx

    # -- wiring ---------------------------------------------------------------

    def install(self) -> None:
        """Register the Socket.IO handlers on the namespace."""
        ns = self.namespace
        self.sio.on("connect", self._on_connect, namespace=ns)
        self.sio.on("disconnect", self._on_disconnect, namespace=ns)
        self.sio.on("replay", self._on_replay, namespace=ns)
        self.sio.on("typing", self._on_typing, namespace=ns)
        self.sio.on("*", self._on_event, namespace=ns)

    async def stop(self) -> None:
        """Wait for background observer tasks."""
        for task in [*self._tasks, *self._writers.values()]:
            task.cancel()
        self._tasks.clear()

    # -- connect and disconnect ---------------------------------------------

    async def _on_connect(
        self, sid: str, environ: dict[str, Any], auth: Any = None
    ) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            if not isinstance(token, str) or not token:
                raise RoomAuthError("A join token is required.", code="token_missing")
            claims = await self.tokens.verify(token)
            session, seats = await self.store.load(claims.session_id)
            seat = next((s for s in seats if s.id == claims.participant_id), None)
            self._admissible(session, seat)
        except RoomError as exc:
            self.metrics.errors.labels(exc.code).inc()
            logger.info("room connection refused: %s", exc.code)
            raise socketio.exceptions.ConnectionRefusedError(
                exc.message, {"code": exc.code}
            ) from None
        assert seat is not None

        await self.sio.save_session(
            sid,
            {"claims": claims, "pid": seat.id, "session": session.id},
            namespace=self.namespace,
        )
        await self.sio.enter_room(
            sid, participant_room(seat.id), namespace=self.namespace
        )
        await self.sio.enter_room(
            sid, session_room(session.id), namespace=self.namespace
        )
        await self.presence.join(session.id, seat.id, sid)
        self.metrics.connections.inc()
        count = self._local_sessions.get(session.id, 0)
        self._local_sessions[session.id] = count + 1
        self.metrics.sessions.set(len(self._local_sessions))
        logger.info(
            "participant %s connected to session %s (case %s) in %s",
            seat.id,
            session.id,
            session.case_id,
            seat.placement if seat.in_room else LOBBY,
        )
        state = {
            "you": {**seat.public(), "placement": self._placement(seat)},
            "session": {
                "id": session.id,
                "case_id": session.case_id,
                "status": session.status,
                "locked": session.locked,
            },
            "head": session.last_seq,
            "limits": {
                "max_message_chars": self.limits.max_message_chars,
                "events_per_10s": self.limits.events_per_10s,
                "correction_window_s": self.limits.correction_window_s,
            },
        }
        await self.sio.emit("state", state, to=sid, namespace=self.namespace)
        self._spawn(self.push_roster(session.id))

    def _admissible(self, session: SessionState, seat: Seat | None) -> None:
        if seat is None:
            raise RoomAuthError("This seat does not exist.", code="token_invalid")
        if seat.removed:
            raise RoomDenied("You were removed from this session.", code="removed")
        if seat.denied:
            raise RoomDenied("The mediator did not admit you.", code="denied")
        if session.status == "ended":
            raise RoomDenied("This session has ended.", code="session_ended")
        if session.locked and not seat.admitted and not seat.is_mediator:
            raise RoomDenied("The session is locked.", code="session_locked")

    async def _on_disconnect(self, sid: str, reason: Any = None) -> None:
        self.rate.forget(sid)
        try:
            data = await self.sio.get_session(sid, namespace=self.namespace)
        except KeyError:
            return
        session_id, pid = data.get("session"), data.get("pid")
        if session_id is None or pid is None:
            return
        await self.presence.leave(session_id, pid, sid)
        self.metrics.connections.dec()
        count = self._local_sessions.get(session_id, 1) - 1
        if count <= 0:
            self._local_sessions.pop(session_id, None)
        else:
            self._local_sessions[session_id] = count
        self.metrics.sessions.set(len(self._local_sessions))
        logger.info("participant %s left session %s", pid, session_id)
        self._spawn(self.push_roster(session_id))
        if self.media is not None and not await self.presence.connections(
            session_id, pid
        ):
            self._spawn(self.media.disconnected(pid))

    # -- the event pipeline ---------------------------------------------------

    async def _on_event(self, event: str, sid: str, *args: Any) -> dict[str, Any]:
        started = time.perf_counter()
        spec = self.registry.get(event)
        label = event if spec is not None else "unknown"
        try:
            claims = await self._checked(sid)
            if spec is None:
                raise RoomInvalid(f"No event {event!r}.", code="unknown_event")
            payload = self._parse(spec.schema, args)
            ack = await self._run(spec, claims, payload)
            self.metrics.events.labels(label, "ok").inc()
            return ack
        except RoomError as exc:
            return self._refused(label, exc, sid)
        except Exception:
            logger.exception("event %s failed on connection %s", label, sid)
            return self._refused(
                label,
                RoomError(
                    "The server failed to handle this event.", code="internal_error"
                ),
                sid,
            )
        finally:
            self.metrics.latency.labels(label).observe(time.perf_counter() - started)

    def _refused(self, label: str, exc: RoomError, sid: str) -> dict[str, Any]:
        self.metrics.events.labels(label, "refused").inc()
        self.metrics.errors.labels(exc.code).inc()
        logger.info("event %s refused on connection %s: %s", label, sid, exc.code)
        if exc.code in ("token_revoked", "token_expired", "removed", "session_ended"):
            self._spawn(self._disconnect_sid(sid, exc.code))
        return exc.to_ack()

    async def _checked(self, sid: str) -> Claims:
        """The connection's claims, after the rate limit and the token re-check."""
        if not self.rate.allow(sid):
            raise RoomDenied(
                f"More than {self.limits.events_per_10s} events in 10 s; slow down.",
                code="rate_limited",
            )
        try:
            data = await self.sio.get_session(sid, namespace=self.namespace)
        except KeyError:
            raise RoomDenied("Connect with a token first.", code="not_joined") from None
        claims: Claims | None = data.get("claims")
        if claims is None:
            raise RoomDenied("Connect with a token first.", code="not_joined")
        await self.tokens.recheck(claims)
        return claims

    @staticmethod
    def _parse(schema: type[BaseModel], args: tuple[Any, ...]) -> BaseModel:
        if len(args) > 1:
            raise RoomInvalid("Send one payload object.", code="invalid_input")
        raw = args[0] if args else {}
        if not isinstance(raw, dict):
            raise RoomInvalid("The payload must be an object.", code="invalid_input")
        try:
            return schema.model_validate(raw)
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_input=False)
            first = errors[0] if errors else {"loc": (), "msg": "invalid"}
            where = ".".join(str(p) for p in first["loc"]) or None
            raise RoomInvalid(
                f"{where or 'payload'}: {first['msg']}",
                code="invalid_input",
                field=where,
            ) from None

    async def _run(
        self, spec: EventSpec, claims: Claims, payload: BaseModel
    ) -> dict[str, Any]:
        """Queue the event on its session's writer and wait for its ack."""
        job = _Job(spec, claims, payload, asyncio.get_running_loop().create_future())
        session_id = claims.session_id
        self._queues.setdefault(session_id, collections.deque()).append(job)
        if session_id not in self._writers:
            self._writers[session_id] = asyncio.ensure_future(self._drain(session_id))
        return await job.done

    async def _drain(self, session_id: int) -> None:
        """Write a session's queued events, a batch per transaction (group commit).

        Events that arrive while a transaction is open wait for the next one,
        which then writes all of them and commits once: under a burst the
        fixed cost of a transaction (begin, the session and seat reads, the
        commit) is paid per batch, not per event. Nothing is acknowledged
        before its batch is committed.
        """
        queue = self._queues[session_id]
        try:
            while queue:
                size = min(len(queue), self.limits.write_batch)
                await self._write_batch(
                    session_id, [queue.popleft() for _ in range(size)]
                )
        finally:
            # no await since the queue was seen empty: nothing can slip in
            self._writers.pop(session_id, None)
            if not queue:
                self._queues.pop(session_id, None)

    async def _write_batch(self, session_id: int, batch: list[_Job]) -> None:
        failed_at: int | None = None
        error: BaseException | None = None
        try:
            async with self._transaction(session_id) as tx:
                outcomes: list[_Outcome] = []
                for index, job in enumerate(batch):
                    try:
                        outcomes.append(await self._apply(job, tx))
                    except Exception as exc:
                        failed_at, error = index, exc
                        raise _Rollback from exc
            self.metrics.write_batch.observe(len(batch))
        except _Rollback:
            pass
        except Exception as exc:
            # the transaction itself failed (the commit, the database)
            if len(batch) > 1:
                for job in batch:
                    await self._write_batch(session_id, [job])
            elif not batch[0].done.done():
                batch[0].done.set_exception(exc)
            return
        if failed_at is not None:
            # one event was refused: the events before it are written again
            # without it, it gets its error (the same state produced it),
            # and the rest go on as a batch of their own
            assert error is not None
            if failed_at:
                await self._write_batch(session_id, batch[:failed_at])
            if not batch[failed_at].done.done():
                batch[failed_at].done.set_exception(error)
            if failed_at + 1 < len(batch):
                await self._write_batch(session_id, batch[failed_at + 1 :])
            return
        # committed: a crash from here on loses only the acks, never the lines
        for job, outcome in zip(batch, outcomes, strict=True):
            try:
                ack = await self._settle(job, outcome)
            except Exception as exc:
                logger.exception(
                    "an event of session %s failed after commit", session_id
                )
                if not job.done.done():
                    job.done.set_exception(exc)
                continue
            if not job.done.done():
                job.done.set_result(ack)

    async def _apply(self, job: _Job, tx: RoomTx) -> _Outcome:
        """Run one event inside the batch's transaction."""
        spec, claims, payload = job.spec, job.claims, job.payload
        client_id: str | None = getattr(payload, "client_id", None)
        seat = await tx.seat(claims.participant_id)
        if seat is None or seat.removed or seat.denied:
            raise RoomDenied("You are no longer in this session.", code="removed")
        if client_id is not None:
            earlier = await tx.find_batch(seat.id, client_id)
            if earlier:
                return _Outcome(duplicate=earlier)
        spec.allowed.check(seat, tx.session)
        before = await self._roster_state(tx)
        ctx = EventContext(
            seat=seat,
            session=tx.session,
            claims=claims,
            limits=self.limits,
            now=self.clock(),
            client_id=client_id,
            media=self.media,
        )
        specs = await spec.handler(ctx, payload, tx)
        seats = await tx.seats()
        lines = await self._append_all(tx, seats, specs, seat.id, client_id)
        return _Outcome(
            ctx=ctx,
            lines=lines,
            seats=await tx.seats(),
            roster_changed=await self._roster_state(tx) != before,
        )

    async def _settle(self, job: _Job, outcome: _Outcome) -> dict[str, Any]:
        """After the commit: the fan-out, the effects and the ack of one event."""
        if outcome.duplicate is not None:
            return self._ack(outcome.duplicate, duplicate=True)
        assert outcome.ctx is not None
        if self.after_commit_hook is not None:
            self.after_commit_hook(job.spec.kind)
        await self._fan_out(outcome.lines, outcome.seats)
        await self._after(outcome.ctx, job.claims.session_id, outcome.roster_changed)
        if outcome.ctx.error is not None and not outcome.lines:
            # an after-commit step refused an event that wrote nothing
            raise outcome.ctx.error
        ack = self._ack(outcome.lines, duplicate=False)
        if outcome.ctx.result:
            ack["result"] = outcome.ctx.result
        return ack

    async def _append_all(
        self,
        tx: Any,
        seats: list[Seat],
        specs: Sequence[LineSpec],
        participant_id: int | None,
        client_id: str | None,
    ) -> list[Line]:
        lines: list[Line] = []
        batch: int | None = None
        for spec in specs:
            audience = spec.audience
            if audience is None:
                audience = (
                    caucus_audience(seats, spec.room) if is_caucus(spec.room) else ()
                )
            line = await tx.append(
                spec,
                participant_id=participant_id,
                # the client id marks the batch's first line only: the unique
                # key (session, participant, client id) then holds once
                client_id=client_id if batch is None else None,
                batch_seq=batch,
                audience=tuple(audience),
            )
            if batch is None:
                batch = line.seq
            if spec.revise is not None and spec.ref_seq is not None:
                await tx.revise(spec.ref_seq, spec.revise)
            lines.append(line)
            self.metrics.lines.labels(spec.kind).inc()
        return lines

    @staticmethod
    def _ack(lines: Sequence[Line], *, duplicate: bool) -> dict[str, Any]:
        seqs = [line.seq for line in lines]
        ack: dict[str, Any] = {
            "ok": True,
            "seq": seqs[0] if seqs else None,
            "seqs": seqs,
            "duplicate": duplicate,
        }
        return ack

    async def _fan_out(self, lines: Sequence[Line], seats: Sequence[Seat]) -> None:
        for line in lines:
            to = [participant_room(s.id) for s in seats if delivers_live(s, line)]
            if to:
                await self.sio.emit("line", wire(line), to=to, namespace=self.namespace)
        for line in lines:
            for observer in self.observers:
                self._spawn(observer(line))

    @staticmethod
    async def _roster_state(tx: RoomTx) -> tuple[Any, ...]:
        """What the roster is built from: seats, lock and status (not the seq)."""
        return (await tx.seats(), tx.session.locked, tx.session.status)

    async def _after(
        self, ctx: EventContext, session_id: int, roster_changed: bool
    ) -> None:
        for effect in ctx.effects:
            try:
                await effect()
            except Exception:
                logger.exception(
                    "an after-commit step failed in session %s", session_id
                )
        # a chat line changes nobody's seat: a roster push per line would cost
        # one emit per participant on every message
        if roster_changed:
            await self.push_roster(session_id)
        if ctx.disconnect:
            # after the ack: the sender may be among those disconnected
            self._spawn(self._disconnect_all(session_id, dict(ctx.disconnect)))

    async def _disconnect_all(self, session_id: int, who: dict[int, str]) -> None:
        await asyncio.sleep(0.05)
        for pid, reason in who.items():
            await self.disconnect_participant(session_id, pid, reason)

    # -- live-only events -----------------------------------------------------

    async def _on_replay(self, sid: str, data: Any = None) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            claims = await self._checked(sid)
            body = self._parse(ReplayBody, (data,) if data is not None else ())
            assert isinstance(body, ReplayBody)
            result = await self.replay(claims, body.since)
            self.metrics.events.labels("replay", "ok").inc()
            return result
        except RoomError as exc:
            return self._refused("replay", exc, sid)
        finally:
            self.metrics.latency.labels("replay").observe(time.perf_counter() - started)

    async def replay(self, claims: Claims, since: int) -> dict[str, Any]:
        """Every line after ``since`` this seat may see, in seq order, one page."""
        session, seats = await self.store.load(claims.session_id)
        seat = next((s for s in seats if s.id == claims.participant_id), None)
        if seat is None:
            raise RoomDenied("You are no longer in this session.", code="removed")
        head = session.last_seq
        result: dict[str, Any] = {"ok": True, "head": head, "lines": [], "more": False}
        if since > head:
            result["gap"] = {
                "reason": "ahead_of_server",
                "message": f"You saw #{since}, but the session ends at #{head}; "
                "reload the transcript from the start.",
            }
            return result
        if not seat.in_room and not seat.is_mediator:
            result["gap"] = {
                "reason": "in_lobby",
                "message": "Room history is withheld until you are admitted.",
            }
        page = self.limits.replay_page
        cursor = since
        out: list[dict[str, Any]] = []
        while len(out) < page:
            batch = await self.store.lines_since(session.id, cursor, page)
            if not batch:
                break
            for line in batch:
                cursor = line.seq
                if may_see(seat, line):
                    out.append(project(seat, line))
                    if len(out) >= page:
                        break
            if len(batch) < page:
                break
        result["lines"] = out
        result["more"] = cursor < head and len(out) >= page
        result["next"] = cursor
        return result

    async def _on_typing(self, sid: str, data: Any = None) -> dict[str, Any]:
        try:
            claims = await self._checked(sid)
            body = self._parse(TypingBody, (data,) if data is not None else ())
            assert isinstance(body, TypingBody)
            session, seats = await self.store.load(claims.session_id)
            seat = next((s for s in seats if s.id == claims.participant_id), None)
            if seat is None or not (seat.in_room or seat.is_mediator):
                raise RoomDenied(
                    "Typing is shown only inside a room.", code="forbidden_placement"
                )
            room = seat.placement
            to = [
                participant_room(s.id)
                for s in seats
                if s.id != seat.id
                and s.in_room
                and s.placement == room
                or (s.is_mediator and s.id != seat.id)
            ]
            if to:
                await self.sio.emit(
                    "typing",
                    {"participant": seat.id, "room": room, "active": body.active},
                    to=to,
                    namespace=self.namespace,
                )
            self.metrics.events.labels("typing", "ok").inc()
            return {"ok": True}
        except RoomError as exc:
            return self._refused("typing", exc, sid)

    # -- roster, presence and disconnection -----------------------------------

    @staticmethod
    def _placement(seat: Seat) -> str:
        return seat.placement if (seat.in_room or seat.is_mediator) else LOBBY

    async def push_roster(self, session_id: int) -> None:
        """Send each participant the people they may know about, with presence."""
        try:
            session, seats = await self.store.load(session_id)
            online = await self.presence.online(session_id)
        except Exception:
            logger.exception("roster of session %s could not be built", session_id)
            return
        live = [s for s in seats if not s.removed and not s.denied]
        mediator_online = any(s.is_mediator and s.id in online for s in live)

        def entry(seat: Seat, full: bool) -> dict[str, Any]:
            item = {**seat.public(), "online": seat.id in online}
            if full:
                item.update(
                    placement=self._placement(seat),
                    muted=seat.muted,
                    admitted=seat.admitted,
                )
            return item

        for viewer in live:
            if viewer.id not in online:
                continue
            if viewer.is_mediator:
                people = [entry(s, True) for s in live]
            elif viewer.in_room:
                people = [
                    entry(s, False)
                    for s in live
                    if s.is_mediator or (s.in_room and s.placement == viewer.placement)
                ]
            else:
                people = []
            await self.sio.emit(
                "roster",
                {
                    "placement": self._placement(viewer),
                    "locked": session.locked,
                    "status": session.status,
                    "mediator_online": mediator_online,
                    "people": people,
                },
                to=participant_room(viewer.id),
                namespace=self.namespace,
            )

    async def disconnect_participant(
        self, session_id: int, participant_id: int, reason: str
    ) -> None:
        """Tell a participant why, then close all their connections on any worker."""
        room = participant_room(participant_id)
        await self.sio.emit(
            "closing", {"reason": reason}, to=room, namespace=self.namespace
        )
        # presence knows every connection id cluster-wide; for one held by
        # another worker, python-socketio forwards the disconnect over the queue
        for sid in await self.presence.connections(session_id, participant_id):
            await self.sio.disconnect(sid, namespace=self.namespace)
            await self.presence.leave(session_id, participant_id, sid)

    async def _disconnect_sid(self, sid: str, reason: str) -> None:
        try:
            await self.sio.emit(
                "closing", {"reason": reason}, to=sid, namespace=self.namespace
            )
            await self.sio.disconnect(sid, namespace=self.namespace)
        except Exception:
            logger.exception("closing connection %s failed", sid)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Future[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
