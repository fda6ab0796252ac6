"""Helpers for the room translation tests: a LibreTranslate look-alike, a
seated room with languages, and readers of translation updates."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from sqlalchemy import update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server.models import Participant
from tests.server.roomkit import Peer, full_room, wait_for

API_KEY = "room-test-key"
LANGUAGES = [
    {"code": "en", "name": "English", "targets": ["de", "zh"]},
    {"code": "zh", "name": "Chinese", "targets": ["en"]},
    {"code": "de", "name": "German", "targets": ["en"]},
]


@dataclass
class FakeLibreTranslate:
    """Speaks LibreTranslate's API: ``[target] text``, with scripted faults.

    ``gate`` holds every translation until set; a text containing one of
    ``fail`` gets HTTP 500, one containing one of ``slow`` waits ``delay_s``.
    """

    gate: asyncio.Event = field(default_factory=asyncio.Event)
    fail: set[str] = field(default_factory=set)
    slow: set[str] = field(default_factory=set)
    delay_s: float = 3.0
    # (text, target) -> a real translation, for readable screenshots
    phrasebook: dict[tuple[str, str], str] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def __post_init__(self) -> None:
        self.gate.set()

    def app(self) -> Starlette:
        async def languages(request: Request) -> JSONResponse:
            return JSONResponse(LANGUAGES)

        async def translate(request: Request) -> JSONResponse:
            body = await request.json()
            self.received.append(body)
            if body.get("api_key") != API_KEY:
                return JSONResponse({"error": "Invalid API key"}, status_code=403)
            await self.gate.wait()
            text = str(body["q"])
            if any(marker in text for marker in self.fail):
                return JSONResponse({"error": "internal"}, status_code=500)
            if any(marker in text for marker in self.slow):
                await asyncio.sleep(self.delay_s)
            known = self.phrasebook.get((text, str(body["target"])))
            answer = known if known is not None else f"[{body['target']}] {text}"
            return JSONResponse({"translatedText": answer})

        return Starlette(
            routes=[
                Route("/languages", languages),
                Route("/translate", translate, methods=["POST"]),
            ]
        )

    def texts(self) -> list[str]:
        """Every text the service was asked to translate."""
        return [str(body["q"]) for body in self.received]

    def asked(self, target: str) -> list[str]:
        """The texts asked for in one target language."""
        return [str(b["q"]) for b in self.received if b.get("target") == target]


@contextlib.asynccontextmanager
async def serve_fake(fake: FakeLibreTranslate) -> AsyncIterator[FakeLibreTranslate]:
    """Serve the fake on a free 127.0.0.1 port in this event loop."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    config = uvicorn.Config(fake.app(), lifespan="off", ws="none", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    fake.url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        fake.gate.set()
        server.should_exit = True
        await task
        sock.close()


def libretranslate_env(fake: FakeLibreTranslate, **extra: str) -> dict[str, str]:
    """Settings variables for the libretranslate backend against the fake."""
    return {
        "ACCORD_TRANSLATION_BACKEND": "libretranslate",
        "ACCORD_LIBRETRANSLATE_URL": fake.url,
        "ACCORD_LIBRETRANSLATE_API_KEY": API_KEY,
        "ACCORD_TRANSLATION_TIMEOUT_S": "2",
        "ACCORD_ROOM_EVENTS_PER_10S": "1000",
        **extra,
    }


async def seated_room(
    live: Any,
    languages: dict[str, str],
    *,
    interpreter: bool = True,
    admit: bool = True,
) -> dict[str, Any]:
    """``full_room`` with each seat's language set, everyone connected and
    (by default) admitted to the joint room."""
    setup = await full_room(live, interpreter=interpreter)
    peers: dict[str, Peer] = setup["peers"]
    async with live.services.db.write() as db:
        for name, language in languages.items():
            if name not in peers:
                continue
            await db.execute(
                update(Participant)
                .where(Participant.id == peers[name].participant_id)
                .values(language=language)
            )
    for peer in peers.values():
        await peer.connect()
    if admit:
        ack = await peers["mediator"].call("lobby.admit", {"client_id": "admit-all"})
        assert ack["ok"], ack
        others = [p for n, p in peers.items() if n != "mediator"]
        await wait_for(
            lambda: all(p.roster and p.roster["placement"] == "joint" for p in others)
        )
    return setup


def updates(
    peer: Peer, ref: int | None = None, kind: str = "translation"
) -> list[dict[str, Any]]:
    """The update lines of ``kind`` a peer received live (for line ``ref``)."""
    return [
        line
        for line in peer.lines
        if line["kind"] == kind and (ref is None or line.get("ref") == ref)
    ]


def translation_into(peer: Peer, ref: int, target: str) -> dict[str, Any] | None:
    """The latest live translation update of line ``ref`` into ``target``."""
    found = [u for u in updates(peer, ref) if u["content"].get("target") == target]
    return found[-1]["content"] if found else None


async def close_all(setup: dict[str, Any]) -> None:
    """Disconnect every peer and close every HTTP client of a room."""
    for peer in setup["peers"].values():
        await peer.close()
    for client in setup["http"].values():
        await client.aclose()
