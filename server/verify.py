"""``accord verify-case REF``: recompute a case's event chain and evidence hashes.

Exit status: 0 when the record is intact, 1 when anything was tampered with,
2 when there is no case with that reference.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from server.caselog import verify_chain
from server.db import Database
from server.models import Case, CaseEvent, EvidenceItem
from server.settings import Settings

INTACT, TAMPERED, UNKNOWN = 0, 1, 2
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Problem:
    """One thing in the case record that does not add up."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(frozen=True)
class Report:
    """What verifying one case found."""

    reference: str
    events: int
    evidence: int
    problems: list[Problem]

    @property
    def intact(self) -> bool:
        return not self.problems


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


async def verify_case(
    db: Database, evidence_dir: Path, reference: str
) -> Report | None:
    """Check a case's event chain and every evidence file; None if no such case."""
    async with db.read() as session:
        case = (
            await session.execute(select(Case).where(Case.reference == reference))
        ).scalar_one_or_none()
        if case is None:
            return None
        chain = await verify_chain(session, case)
        items = list(
            (
                await session.execute(
                    select(EvidenceItem)
                    .where(EvidenceItem.case_id == case.id)
                    .order_by(EvidenceItem.id)
                )
            ).scalars()
        )
        added = list(
            (
                await session.execute(
                    select(CaseEvent)
                    .where(
                        CaseEvent.case_id == case.id,
                        CaseEvent.kind == "evidence.added",
                    )
                    .order_by(CaseEvent.seq)
                )
            ).scalars()
        )
        event_count = len(
            (
                await session.execute(
                    select(CaseEvent.id).where(CaseEvent.case_id == case.id)
                )
            ).all()
        )

    problems = [Problem(f"event #{p.seq}", p.message) for p in chain]
    recorded: dict[int, CaseEvent] = {}
    for added_event in added:
        evidence_id = added_event.payload.get("evidence_id")
        if isinstance(evidence_id, int):
            recorded.setdefault(evidence_id, added_event)

    # hashing reads whole files: off the event loop
    for item in items:
        where = f"evidence #{item.id} ({item.storage_name})"
        path = evidence_dir / item.storage_name
        actual = await asyncio.to_thread(file_sha256, path) if path.is_file() else None
        if actual is None:
            problems.append(Problem(where, f"the file is missing from {evidence_dir}"))
        elif actual != item.sha256:
            problems.append(
                Problem(
                    where,
                    f"the file hashes to {actual[:12]}…, but its record says "
                    f"{item.sha256[:12]}… (the file was changed)",
                )
            )
        event = recorded.get(item.id)
        if event is None:
            problems.append(
                Problem(where, "no evidence.added event records this item's hash")
            )
            continue
        logged = event.payload.get("sha256")
        if logged != item.sha256:
            problems.append(
                Problem(
                    where,
                    f"event #{event.seq} recorded the hash {str(logged)[:12]}…, but "
                    f"the evidence row now says {item.sha256[:12]}… (the row was "
                    "changed)",
                )
            )
        if actual is not None and logged != actual:
            problems.append(
                Problem(
                    where,
                    f"the file hashes to {actual[:12]}…, not the "
                    f"{str(logged)[:12]}… recorded by event #{event.seq}",
                )
            )
        if event.payload.get("storage_name") not in (None, item.storage_name):
            problems.append(
                Problem(
                    where,
                    f"event #{event.seq} recorded the file "
                    f"{event.payload.get('storage_name')}, the row now points to "
                    f"{item.storage_name}",
                )
            )
    known = {item.id for item in items}
    for evidence_id, event in recorded.items():
        if evidence_id not in known:
            problems.append(
                Problem(
                    f"evidence #{evidence_id}",
                    f"recorded by event #{event.seq} but its row is gone",
                )
            )
    return Report(reference, event_count, len(items), problems)


def _command(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> Report | None:
        db = Database.from_settings(settings.database)
        try:
            return await verify_case(db, settings.storage.evidence_dir, args.reference)
        finally:
            await db.dispose()

    report = asyncio.run(run())
    if report is None:
        print(f"accord: no case with reference {args.reference!r}")
        return UNKNOWN
    if report.intact:
        print(
            f"{report.reference}: intact ({report.events} events in an unbroken "
            f"chain, {report.evidence} evidence files match their hashes)"
        )
        return INTACT
    print(f"{report.reference}: TAMPERED — {len(report.problems)} problem(s)")
    first = report.problems[0]
    print(f"first broken link: {first}")
    for problem in report.problems:
        print(f"  - {problem}")
    return TAMPERED


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``verify-case`` to the ``accord`` command line."""
    parser = sub.add_parser(
        "verify-case",
        help="check a case's event chain and evidence hashes",
        description="Recompute the hash chain of a case's events and the SHA-256 "
        "of each evidence file. Exit 0 when intact, 1 when tampered, 2 for an "
        "unknown case.",
    )
    parser.add_argument("reference", help="the case reference, e.g. ACC-2026-000123")
    parser.set_defaults(handler=_command)
