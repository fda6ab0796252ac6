"""Group commit: a burst of events in one session shares transactions safely.

Events that queue up behind an open transaction are written together and
committed once. A refused event in such a batch must leave nothing behind and
must not take the others down; a resend inside the same batch must still be
written once; sequence numbers stay gapless and in arrival order.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from rooms import (
    IN_ROOM,
    Allow,
    EventContext,
    IdempotentPayload,
    LineSpec,
    RoomHub,
    RoomInvalid,
    RoomTx,
    SeatKind,
    Visibility,
)
from server.models import CaseEvent, TranscriptLine
from tests.conftest import LiveServer, make_settings, start_live_server
from tests.server.roomkit import full_room


class Step(IdempotentPayload):
    n: int
    fail: bool = False


async def step(ctx: EventContext, body: Step, tx: RoomTx) -> list[LineSpec]:
    # write something first, then maybe refuse: the refusal must undo it
    await tx.log_case_event("test.step", ctx.actor, {"n": body.n})
    if body.fail:
        raise RoomInvalid("Asked to fail.", code="asked_to_fail")
    return [LineSpec("test.step", "joint", Visibility.JOINT, {"n": body.n})]


def _histogram(hub: RoomHub) -> tuple[float, float]:
    """(events written, transactions) as the write-batch histogram counted them."""
    total = count = 0.0
    for metric in hub.metrics.write_batch.collect():
        for sample in metric.samples:
            if sample.name.endswith("_sum"):
                total = sample.value
            elif sample.name.endswith("_count"):
                count = sample.value
    return total, count


async def test_a_burst_shares_transactions_and_a_refusal_undoes_only_itself(
    database_url: str, tmp_path: Path
) -> None:
    # the burst is larger than the default per-connection rate limit
    settings = make_settings(database_url, tmp_path, ACCORD_ROOM_EVENTS_PER_10S="1000")
    live = await start_live_server(settings)
    try:
        await _burst(live)
    finally:
        await live.stop()


async def _burst(live_server: LiveServer) -> None:
    hub: RoomHub = live_server.services.extras["room_hub"]
    hub.register(
        "test.step",
        schema=Step,
        allowed=Allow(frozenset({SeatKind.MEDIATOR}), IN_ROOM),
        handler=step,
        summary="test-only step",
        errors=("asked_to_fail",),
    )
    setup = await full_room(live_server, interpreter=False)
    mediator = setup["peers"]["mediator"]
    await mediator.connect()
    before = _histogram(hub)

    payloads: list[dict[str, Any]] = [
        {"client_id": f"s{n}", "n": n, "fail": n == 10} for n in range(30)
    ]
    # a resend of s3 with other content, in the same burst
    payloads.insert(20, {"client_id": "s3", "n": 999})
    acks = await asyncio.gather(*(mediator.call("test.step", p) for p in payloads))

    by_id: dict[str, list[dict[str, Any]]] = {}
    for payload, ack in zip(payloads, acks, strict=True):
        by_id.setdefault(payload["client_id"], []).append(ack)
    assert by_id["s10"][0]["error"]["code"] == "asked_to_fail"
    first, resend = by_id["s3"]
    assert first["ok"] and resend["ok"] and resend["duplicate"]
    assert resend["seqs"] == first["seqs"]
    written = [a["seq"] for cid, acks_ in by_id.items() if cid != "s10" for a in acks_]
    assert all(isinstance(seq, int) for seq in written)

    async with live_server.services.db.read() as db:
        rows = (
            await db.execute(
                select(TranscriptLine.seq, TranscriptLine.content)
                .where(
                    TranscriptLine.session_id == setup["session_id"],
                    TranscriptLine.kind == "test.step",
                )
                .order_by(TranscriptLine.seq)
            )
        ).all()
        events = await db.scalar(
            select(func.count()).where(CaseEvent.kind == "test.step")
        )
    numbers = [content["n"] for _, content in rows]
    # each of the 29 accepted steps once, none from the refusal or the resend
    assert sorted(numbers) == [n for n in range(30) if n != 10]
    assert 999 not in numbers
    seqs = [seq for seq, _ in rows]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert events == 29

    # the burst really was batched: fewer transactions than events
    total, count = _histogram(hub)
    assert total - before[0] > count - before[1]

    # and the room keeps working after it
    after = await mediator.call("test.step", {"client_id": "later", "n": 100})
    assert after["ok"] and after["seq"] == seqs[-1] + 1
    for peer in setup["peers"].values():
        await peer.close()
    for client in setup["http"].values():
        await client.aclose()
