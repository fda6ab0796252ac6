"""Helpers for the room tests: seed a case, seat people, connect real clients."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

import httpx
import socketio

from server.auth import CSRF_COOKIE, CSRF_HEADER, STAFF_COOKIE
from server.models import Case, Party, PartyRole, Role, User
from server.services import Services

_ids = itertools.count(1)


@dataclass
class World:
    """A case with two parties, a mediator and an interpreter user."""

    case_id: int
    claimant: int
    respondent: int
    mediator: int
    mediator2: int
    interpreter: int
    officer: int


async def seed(services: Services) -> World:
    """Create staff, a case and its two parties directly in the database."""
    n = next(_ids)
    async with services.db.write() as db:
        users = {}
        for key, role in (
            ("mediator", Role.MEDIATOR),
            ("mediator2", Role.MEDIATOR),
            ("interpreter", Role.INTERPRETER),
            ("officer", Role.CASE_OFFICER),
        ):
            user = User(
                email=f"{key}{n}@example.org",
                name=f"{key.title()} {n}",
                password_hash="!",
                role=role,
            )
            db.add(user)
            users[key] = user
        await db.flush()
        case = Case(
            reference=f"ACC-{n:05d}-{id(users) % 1000}",
            category="consumer",
            facts="facts",
            desired_outcome="refund",
            languages=["en"],
            mediator_id=users["mediator"].id,
            officer_id=users["officer"].id,
            interpreter_ids=[users["interpreter"].id],
        )
        db.add(case)
        await db.flush()
        claimant = Party(case_id=case.id, role=PartyRole.CLAIMANT, name="Claire")
        respondent = Party(case_id=case.id, role=PartyRole.RESPONDENT, name="Ray")
        db.add_all([claimant, respondent])
        await db.flush()
        return World(
            case.id,
            claimant.id,
            respondent.id,
            users["mediator"].id,
            users["mediator2"].id,
            users["interpreter"].id,
            users["officer"].id,
        )


async def staff_client(
    services: Services, base_url: str, user_id: int, **kwargs: Any
) -> httpx.AsyncClient:
    """An HTTP client signed in as a staff user (cookie + CSRF header)."""
    async with services.db.read() as db:
        user = await db.get(User, user_id)
        assert user is not None
        cookie = services.signer.staff_session(user)
    return httpx.AsyncClient(
        base_url=base_url,
        cookies={STAFF_COOKIE: cookie, CSRF_COOKIE: "csrf-test-token"},
        headers={CSRF_HEADER: "csrf-test-token"},
        **kwargs,
    )


async def party_client(
    services: Services, base_url: str, party_id: int, **kwargs: Any
) -> httpx.AsyncClient:
    """An HTTP client holding a party's personal link token (bearer)."""
    async with services.db.read() as db:
        party = await db.get(Party, party_id)
        assert party is not None
        token = services.signer.party_link(party)
    return httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, **kwargs
    )


@dataclass
class Peer:
    """A real Socket.IO client in the room, recording everything it receives."""

    name: str
    token: str
    participant_id: int
    url: str
    sio: socketio.AsyncClient = field(default_factory=socketio.AsyncClient)
    lines: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[str, Any]] = field(default_factory=list)
    state: dict[str, Any] | None = None
    refused: Any = None
    roster: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self._wire(self.sio)

    def _wire(self, sio: socketio.AsyncClient) -> None:
        @sio.on("*", namespace="/room")
        async def anything(event: str, data: Any = None) -> None:
            self.events.append((event, data))
            if event == "line":
                self.lines.append(data)
            elif event == "state":
                self.state = data
            elif event == "roster":
                self.roster = data

        @sio.on("connect_error", namespace="/room")
        async def refused(data: Any) -> None:
            self.refused = data

    async def connect(self) -> None:
        """Connect over websocket only, with the join token."""
        await self.sio.connect(
            self.url,
            namespaces=["/room"],
            transports=["websocket"],
            auth={"token": self.token},
            wait_timeout=5,
        )
        for _ in range(100):
            if self.state is not None:
                return
            await asyncio.sleep(0.02)

    async def reconnect(self) -> None:
        """A fresh client (a new connection), as after a network drop."""
        await self.close()
        self.sio = socketio.AsyncClient()
        self._wire(self.sio)
        self.state = None
        await self.connect()

    async def call(self, event: str, data: Any = None, within: float = 10) -> Any:
        """Emit an event and wait for its acknowledgement."""
        return await self.sio.call(event, data, namespace="/room", timeout=within)

    async def close(self) -> None:
        """Disconnect if connected, and always release the HTTP session.

        A client the server disconnected (denied, removed, session ended)
        still holds its aiohttp session; closing it here keeps the run free
        of ResourceWarnings.
        """
        # shutdown() also stops the attempts to reconnect to a server that
        # went away (a killed worker), which would otherwise leak sessions
        await self.sio.shutdown()
        http = getattr(self.sio.eio, "http", None)
        if http is not None and not http.closed:
            await http.close()

    def texts(self) -> list[str]:
        """Every chat text received live."""
        return [str(line["content"].get("text")) for line in self.lines]


async def wait_for(predicate: Any, within: float = 5.0) -> None:
    """Poll until predicate() is true (live events arrive asynchronously)."""
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def settle(seconds: float = 0.3) -> None:
    """Give in-flight broadcasts time to arrive (used before asserting absence)."""
    await asyncio.sleep(seconds)


async def token_for(client: httpx.AsyncClient, session_id: int) -> tuple[str, int]:
    """Ask the API for the caller's room token."""
    response = await client.post(f"/api/sessions/{session_id}/token")
    assert response.status_code == 200, response.text
    body = response.json()
    return body["token"], body["participant_id"]


async def full_room(
    live: Any, *, interpreter: bool = True, observer: bool = False
) -> dict[str, Any]:
    """An open session with mediator, both parties, an interpreter (for the
    claimant) and optionally an observer; every peer holds a token, none is
    connected yet."""
    services = live.services
    world = await seed(services)
    mediator = await staff_client(services, live.url, world.mediator)
    created = await mediator.post(
        f"/api/cases/{world.case_id}/sessions",
        json={"title": "T", "open": True, "include_interpreters": False},
    )
    assert created.status_code == 201, created.text
    session_id = created.json()["id"]
    clients = {
        "mediator": mediator,
        "claimant": await party_client(services, live.url, world.claimant),
        "respondent": await party_client(services, live.url, world.respondent),
    }
    if interpreter:
        added = await mediator.post(
            f"/api/sessions/{session_id}/participants",
            json={
                "kind": "interpreter",
                "user_id": world.interpreter,
                "attached_party_id": world.claimant,
            },
        )
        assert added.status_code == 201, added.text
        clients["interpreter"] = await staff_client(
            services, live.url, world.interpreter
        )
    if observer:
        added = await mediator.post(
            f"/api/sessions/{session_id}/participants",
            json={"kind": "observer", "user_id": world.officer},
        )
        assert added.status_code == 201, added.text
        clients["observer"] = await staff_client(services, live.url, world.officer)
    peers = {}
    for name, client in clients.items():
        token, pid = await token_for(client, session_id)
        peers[name] = Peer(name, token, pid, live.url)
    return {"world": world, "session_id": session_id, "peers": peers, "http": clients}
