"""A case in mediation with two parties, staff and a live session, for negotiation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from rooms.negotiation.lines import NegotiationActor
from server.auth import CSRF_COOKIE, PARTY_COOKIE, STAFF_COOKIE, hash_password
from server.models import (
    Case,
    CaseStatus,
    MediationSession,
    Participant,
    ParticipantKind,
    Party,
    PartyRole,
    Role,
    SessionStatus,
    User,
)
from server.services import Services

CLAIMANT_NAME = "张伟"
RESPONDENT_NAME = "李娜"
MEDIATOR_NAME = "王调解"
CSRF = "test-csrf-token"


@dataclass
class World:
    """Ids of everything seeded, and actors for the room actions."""

    case_id: int
    reference: str
    session_id: int
    claimant_id: int
    respondent_id: int
    mediator_user_id: int
    officer_user_id: int
    claimant_seat: int
    respondent_seat: int
    mediator_seat: int

    def claimant(self, room: str = "joint") -> NegotiationActor:
        return NegotiationActor(self.claimant_seat, self.claimant_id, "party", room)

    def respondent(self, room: str = "joint") -> NegotiationActor:
        return NegotiationActor(self.respondent_seat, self.respondent_id, "party", room)

    def mediator(self, room: str = "joint") -> NegotiationActor:
        return NegotiationActor(self.mediator_seat, None, "mediator", room)


async def seed(services: Services, reference: str = "ACC-2026-0001") -> World:
    """Create staff, a case in mediation, its parties, a session and seats."""
    async with services.db.write() as db:
        mediator = User(
            email=f"mediator-{reference}@example.org",
            name=MEDIATOR_NAME,
            password_hash=hash_password("mediator-password"),
            role=Role.MEDIATOR,
        )
        officer = User(
            email=f"officer-{reference}@example.org",
            name="Olivia Officer",
            password_hash=hash_password("officer-password"),
            role=Role.CASE_OFFICER,
        )
        db.add_all([mediator, officer])
        await db.flush()
        case = Case(
            reference=reference,
            status=CaseStatus.IN_MEDIATION,
            category="consumer",
            amount_minor=500000,
            currency="CNY",
            facts="The sofa arrived broken.",
            desired_outcome="A refund.",
            languages=["zh-CN", "en"],
            language_of_record="zh-CN",
            mediator_id=mediator.id,
            officer_id=officer.id,
        )
        db.add(case)
        await db.flush()
        claimant = Party(
            case_id=case.id,
            role=PartyRole.CLAIMANT,
            name=CLAIMANT_NAME,
            email="claimant@example.org",
            language="zh-CN",
        )
        respondent = Party(
            case_id=case.id,
            role=PartyRole.RESPONDENT,
            name=RESPONDENT_NAME,
            email="respondent@example.org",
            language="en",
        )
        db.add_all([claimant, respondent])
        await db.flush()
        session = MediationSession(
            case_id=case.id,
            status=SessionStatus.OPEN,
            rooms={
                "caucus-1": {"name": "A", "members": []},
                "caucus-2": {"name": "B", "members": []},
            },
        )
        db.add(session)
        await db.flush()
        seats = [
            Participant(
                session_id=session.id,
                kind=ParticipantKind.PARTY,
                party_id=claimant.id,
                display_name=CLAIMANT_NAME,
                placement="joint",
                admitted=True,
            ),
            Participant(
                session_id=session.id,
                kind=ParticipantKind.PARTY,
                party_id=respondent.id,
                display_name=RESPONDENT_NAME,
                placement="joint",
                admitted=True,
            ),
            Participant(
                session_id=session.id,
                kind=ParticipantKind.MEDIATOR,
                user_id=mediator.id,
                display_name=MEDIATOR_NAME,
                placement="joint",
                admitted=True,
            ),
        ]
        db.add_all(seats)
        await db.flush()
        session.rooms = {
            "caucus-1": {"name": "A", "members": [seats[0].id, seats[2].id]},
            "caucus-2": {"name": "B", "members": [seats[1].id, seats[2].id]},
        }
        return World(
            case_id=case.id,
            reference=reference,
            session_id=session.id,
            claimant_id=claimant.id,
            respondent_id=respondent.id,
            mediator_user_id=mediator.id,
            officer_user_id=officer.id,
            claimant_seat=seats[0].id,
            respondent_seat=seats[1].id,
            mediator_seat=seats[2].id,
        )


async def cookies_for(
    services: Services, *, party_id: int | None = None, user_id: int | None = None
) -> dict[str, str]:
    """The cookies a browser of this party or staff member would carry."""
    cookies = {CSRF_COOKIE: CSRF}
    async with services.db.read() as db:
        if party_id is not None:
            party = (
                await db.execute(select(Party).where(Party.id == party_id))
            ).scalar_one()
            cookies[PARTY_COOKIE] = services.signer.party_link(party)
        if user_id is not None:
            user = await db.get(User, user_id)
            assert user is not None
            cookies[STAFF_COOKIE] = services.signer.staff_session(user)
    return cookies


class As:
    """An HTTP client acting as one caller (cookies plus the CSRF header)."""

    def __init__(self, client: httpx.AsyncClient, cookies: dict[str, str]) -> None:
        self.client = client
        self.cookies = cookies

    async def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        headers = {"X-CSRF-Token": CSRF, **kw.pop("headers", {})}
        self.client.cookies.clear()
        for name, value in self.cookies.items():
            self.client.cookies.set(name, value)
        return await self.client.request(method, url, headers=headers, **kw)

    async def get(self, url: str, **kw: Any) -> httpx.Response:
        return await self.request("GET", url, **kw)

    async def post(self, url: str, **kw: Any) -> httpx.Response:
        return await self.request("POST", url, **kw)

    async def put(self, url: str, **kw: Any) -> httpx.Response:
        return await self.request("PUT", url, **kw)


@pytest.fixture
async def world(app: Any) -> World:
    """The seeded case on the parametrised database."""
    return await seed(app.services)


@pytest.fixture
async def actors(app: Any, client: httpx.AsyncClient, world: World) -> dict[str, As]:
    """Clients for the claimant, the respondent, the mediator and the officer."""
    s = app.services
    return {
        "claimant": As(client, await cookies_for(s, party_id=world.claimant_id)),
        "respondent": As(client, await cookies_for(s, party_id=world.respondent_id)),
        "mediator": As(client, await cookies_for(s, user_id=world.mediator_user_id)),
        "officer": As(client, await cookies_for(s, user_id=world.officer_user_id)),
    }
