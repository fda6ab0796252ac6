"""The case event log: append-only, every entry hash-chained to the one before.

Each event's hash is SHA-256 over a canonical JSON serialisation of the case
id, sequence number, kind, actor, payload, time and the previous hash. The
case row keeps the head (count and last hash) so that a deleted tail is
detected too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.models import Case, CaseEvent, utcnow

GENESIS = "0" * 64


def canonical_json(value: Any) -> bytes:
    """Deterministic UTF-8 JSON: sorted keys, no spaces, no ASCII escaping."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def event_hash(
    *,
    case_id: int,
    seq: int,
    kind: str,
    actor: str,
    payload: dict[str, Any],
    created_at: str,
    prev_hash: str,
) -> str:
    """The SHA-256 hex digest that links one event to its predecessor."""
    body = {
        "case_id": case_id,
        "seq": seq,
        "kind": kind,
        "actor": actor,
        "payload": payload,
        "created_at": created_at,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(body)).hexdigest()


async def append_event(
    session: AsyncSession,
    case: Case,
    kind: str,
    actor: str,
    payload: dict[str, Any] | None = None,
) -> CaseEvent:
    """Append one event to the case's chain inside the caller's transaction.

    The caller's write transaction serialises appends: SQLite takes the write
    lock at BEGIN IMMEDIATE, and on PostgreSQL the case row is locked here.
    """
    if session.bind is not None and session.bind.dialect.name != "sqlite":
        await session.execute(
            select(Case.id).where(Case.id == case.id).with_for_update()
        )
        await session.refresh(case, ["event_count", "head_hash"])

    payload = json.loads(canonical_json(payload or {}))
    seq = case.event_count + 1
    created_at = utcnow().isoformat(timespec="microseconds")
    digest = event_hash(
        case_id=case.id,
        seq=seq,
        kind=kind,
        actor=actor,
        payload=payload,
        created_at=created_at,
        prev_hash=case.head_hash,
    )
    event = CaseEvent(
        case_id=case.id,
        seq=seq,
        kind=kind,
        actor=actor,
        payload=payload,
        created_at=created_at,
        prev_hash=case.head_hash,
        hash=digest,
    )
    session.add(event)
    case.event_count = seq
    case.head_hash = digest
    await session.flush()
    return event


@dataclass(frozen=True)
class ChainProblem:
    """One place where the stored chain disagrees with its recomputation."""

    seq: int
    kind: str
    message: str


async def verify_chain(session: AsyncSession, case: Case) -> list[ChainProblem]:
    """Recompute a case's chain and return every broken link, first one first."""
    result = await session.execute(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
    )
    events = list(result.scalars())
    problems: list[ChainProblem] = []
    prev = GENESIS
    expected_seq = 1
    for event in events:
        if event.seq != expected_seq:
            problems.append(
                ChainProblem(
                    event.seq,
                    "sequence",
                    f"expected event #{expected_seq} here, found #{event.seq} "
                    "(an event was deleted, inserted or reordered)",
                )
            )
        if event.prev_hash != prev:
            problems.append(
                ChainProblem(
                    event.seq,
                    "link",
                    f"event #{event.seq} points to {event.prev_hash[:12]}…, "
                    f"but the event before it hashes to {prev[:12]}…",
                )
            )
        recomputed = event_hash(
            case_id=event.case_id,
            seq=event.seq,
            kind=event.kind,
            actor=event.actor,
            payload=event.payload,
            created_at=event.created_at,
            prev_hash=event.prev_hash,
        )
        if recomputed != event.hash:
            problems.append(
                ChainProblem(
                    event.seq,
                    "content",
                    f"event #{event.seq} ({event.kind}) was changed after it "
                    "was written: its content no longer matches its hash",
                )
            )
        prev = event.hash
        expected_seq += 1

    if len(events) != case.event_count or prev != case.head_hash:
        problems.append(
            ChainProblem(
                len(events),
                "head",
                f"the case records {case.event_count} events ending in "
                f"{case.head_hash[:12]}…, but the log holds {len(events)} "
                f"ending in {prev[:12]}… (events were removed or added)",
            )
        )
    return problems
