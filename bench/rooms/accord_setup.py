"""Seed a fresh Accord database for the room benchmark and write the tokens.

Run with the Accord tree under test first on PYTHONPATH and its ACCORD_*
settings in the environment (the orchestrator does both):

    python -m bench.rooms.accord_setup --out population.json --sessions 200

It migrates the database, then writes, in one transaction, for every
benchmark session a case with two parties, an open mediation session and
five seats already admitted to the joint room (mediator, both parties, the
claimant's representative, the respondent's interpreter), plus one burst
session of a mediator and N observers. It then issues each seat's room token
exactly as ``POST /api/sessions/{id}/token`` does (``RoomTokens.issue``).
The population file is what the Node driver reads (adapters/accord.js).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from server.db import Database
from server.migrate import upgrade
from server.models import (
    Case,
    MediationSession,
    Participant,
    ParticipantKind,
    Party,
    PartyRole,
    Role,
    SessionStatus,
    User,
)
from server.roomtokens import RoomTokens
from server.settings import ensure_secret_key, load_settings

JOINT = "joint"


class Seeder:
    """Creates cases, sessions and admitted seats, and issues their tokens."""

    def __init__(self, db: Any, tokens: RoomTokens) -> None:
        self.db = db
        self.tokens = tokens
        self.count = 0

    def _user(self, role: Role, label: str) -> User:
        self.count += 1
        user = User(
            email=f"bench-{label}-{self.count}@example.org",
            name=f"{label.title()} {self.count}",
            password_hash="!",
            role=role,
        )
        self.db.add(user)
        return user

    async def session(
        self, label: str, observers: int = 0, full: bool = True
    ) -> list[dict[str, Any]]:
        """One case and open session with its seats; returns the driver's view."""
        mediator = self._user(Role.MEDIATOR, "mediator")
        interpreter = self._user(Role.INTERPRETER, "interpreter")
        observer = self._user(Role.MEDIATOR, "observer") if observers else None
        await self.db.flush()
        case = Case(
            reference=f"BENCH-{label}-{self.count}",
            category="consumer",
            facts="benchmark",
            desired_outcome="none",
            languages=["en"],
            mediator_id=mediator.id,
            interpreter_ids=[interpreter.id],
        )
        self.db.add(case)
        await self.db.flush()
        claimant = Party(case_id=case.id, role=PartyRole.CLAIMANT, name="Claire")
        respondent = Party(case_id=case.id, role=PartyRole.RESPONDENT, name="Ray")
        self.db.add_all([claimant, respondent])
        row = MediationSession(
            case_id=case.id, status=SessionStatus.OPEN, title=f"bench {label}"
        )
        self.db.add(row)
        await self.db.flush()

        # (seat, the party or user its token is bound to)
        seats: list[tuple[Participant, Party | None, User | None]] = [
            (self._seat(row, ParticipantKind.MEDIATOR, user=mediator), None, mediator)
        ]
        if full:
            seats += [
                (
                    self._seat(row, ParticipantKind.PARTY, party=claimant),
                    claimant,
                    None,
                ),
                (
                    self._seat(row, ParticipantKind.PARTY, party=respondent),
                    respondent,
                    None,
                ),
                (
                    self._seat(
                        row,
                        ParticipantKind.REPRESENTATIVE,
                        party=claimant,
                        attached=claimant,
                    ),
                    claimant,
                    None,
                ),
                (
                    self._seat(
                        row,
                        ParticipantKind.INTERPRETER,
                        user=interpreter,
                        attached=respondent,
                    ),
                    None,
                    interpreter,
                ),
            ]
        for _ in range(observers):
            seats.append(
                (
                    self._seat(row, ParticipantKind.OBSERVER, user=observer),
                    None,
                    observer,
                )
            )
        await self.db.flush()

        out = []
        for seat, party, user in seats:
            token, _ = self.tokens.issue(seat, case.id, party=party, user=user)
            out.append(
                {
                    "id": f"p{seat.id}",
                    "participant_id": seat.id,
                    "session": row.id,
                    "kind": str(seat.kind),
                    "room": JOINT,
                    "token": token,
                }
            )
        return out

    def _seat(
        self,
        row: MediationSession,
        kind: ParticipantKind,
        *,
        party: Party | None = None,
        user: User | None = None,
        attached: Party | None = None,
    ) -> Participant:
        seat = Participant(
            session_id=row.id,
            kind=kind,
            party_id=party.id if party is not None else None,
            user_id=user.id if user is not None else None,
            attached_party_id=attached.id if attached is not None else None,
            display_name=f"{kind} {row.id}",
            language="en",
            # admitted to the joint room already: the benchmark measures chat,
            # not the lobby (a reconnect lands where one was last admitted)
            placement=JOINT,
            admitted=True,
        )
        self.db.add(seat)
        return seat


async def seed(args: argparse.Namespace) -> dict[str, Any]:
    """Migrate, seed and issue tokens; the population for the driver."""
    from server.auth import Signer

    settings = ensure_secret_key(load_settings())

    db = Database.from_settings(settings.database)
    tokens = RoomTokens(Signer(settings.secret_key), db, settings.rooms.token_ttl_s)
    try:
        async with db.write() as session:
            seeder = Seeder(session, tokens)
            warmup = []
            for n in range(2):
                warmup += await seeder.session(f"warm{n}")
            sessions = [await seeder.session(f"s{n}") for n in range(args.sessions)]
            burst = await seeder.session(
                "burst", observers=args.burst_receivers, full=False
            )
    finally:
        await db.dispose()
    return {
        "warmup": warmup,
        "sessions": sessions,
        "burst": {"sender": burst[0], "receivers": burst[1:]},
    }


def main() -> None:
    """Command line entry."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--sessions", type=int, default=200)
    p.add_argument("--per-session", type=int, default=5, choices=[5])
    p.add_argument("--burst-receivers", type=int, default=100)
    args = p.parse_args()
    # alembic runs its own event loop, so migrate before starting ours
    upgrade(ensure_secret_key(load_settings()).database.url)
    population = asyncio.run(seed(args))
    args.out.write_text(json.dumps(population))


if __name__ == "__main__":
    main()
