"""Uvicorn worker processes for the durability and multi-worker room tests."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from server.models import MediationSession, Participant, ParticipantKind, SessionStatus
from server.roomtokens import RoomTokens
from server.services import Services
from tests.conftest import TEST_SECRET, free_port
from tests.server.roomkit import World, seed

ROOT = Path(__file__).resolve().parents[2]


class Worker:
    """``python -m uvicorn --factory server.app:create_app`` on a free port."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env, "ACCORD_PUBLIC_URL": self.url}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        handle = self.log.open("ab")
        self.proc = subprocess.Popen(  # noqa: ASYNC220 - returns at once
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "server.app:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--ws-per-message-deflate",
                "false",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        handle.close()
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"worker exited: {self.log.read_text()[-2000:]}")
                try:
                    if (await client.get(f"{self.url}/healthz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("worker did not start in 30 s")

    def exited(self) -> int | None:
        assert self.proc is not None
        return self.proc.poll()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                await asyncio.to_thread(self.proc.wait, 15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                await asyncio.to_thread(self.proc.wait, 5)


def worker_env(db_url: str, data: Path, **extra: str) -> dict[str, str]:
    return {
        "ACCORD_DATABASE_URL": db_url,
        "ACCORD_DATA_DIR": str(data),
        "ACCORD_SECRET_KEY": TEST_SECRET,
        **extra,
    }


async def open_session_with_tokens(
    services: Services,
) -> tuple[World, int, dict[str, tuple[int, str]]]:
    """An open session with mediator and both parties; tokens signed directly."""
    world = await seed(services)
    tokens = RoomTokens(services.signer, services.db, 3600)
    out: dict[str, tuple[int, str]] = {}
    async with services.db.write() as db:
        row = MediationSession(case_id=world.case_id, status=SessionStatus.OPEN)
        db.add(row)
        await db.flush()
        seats: dict[str, Any] = {
            "mediator": Participant(
                session_id=row.id,
                kind=ParticipantKind.MEDIATOR,
                user_id=world.mediator,
                display_name="M",
                admitted=True,
                placement="joint",
            ),
            "claimant": Participant(
                session_id=row.id,
                kind=ParticipantKind.PARTY,
                party_id=world.claimant,
                display_name="C",
            ),
            "respondent": Participant(
                session_id=row.id,
                kind=ParticipantKind.PARTY,
                party_id=world.respondent,
                display_name="R",
            ),
        }
        db.add_all(seats.values())
        await db.flush()
        for name, seat in seats.items():
            token, _ = tokens.issue(seat, world.case_id)
            out[name] = (seat.id, token)
        session_id = row.id
    return world, session_id, out
