"""Test factories for case work: staff, cases with parties, evidence, SMTP.

Cases are inserted directly (with a ``case.filed`` event) until intake's
``file_case`` is merged; evidence is written to the evidence directory with
an ``evidence.added`` event carrying ``evidence_id``, ``sha256``,
``storage_name`` and ``size``, the keys intake uses.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from server.auth import CSRF_COOKIE, STAFF_COOKIE, hash_password
from server.caselog import append_event
from server.evidence import new_storage_name
from server.models import (
    Case,
    CaseStatus,
    EvidenceItem,
    Party,
    PartyRole,
    Role,
    User,
)
from server.services import Services
from tests.conftest import free_port

PASSWORD = "correct horse battery"
_counter = itertools.count(1)

DEFAULT_PARTIES: tuple[dict[str, Any], ...] = (
    {
        "role": PartyRole.CLAIMANT,
        "name": "王小明",
        "email": "claimant@example.org",
        "language": "zh-CN",
    },
    {
        "role": PartyRole.RESPONDENT,
        "name": "Shop Ltd",
        "email": "respondent@example.org",
        "language": "en",
    },
)


async def make_user(
    services: Services,
    role: Role | str,
    *,
    email: str | None = None,
    name: str | None = None,
    languages: str = "",
    password: str = PASSWORD,
    active: bool = True,
) -> User:
    """A staff account."""
    n = next(_counter)
    role = Role(role)
    async with services.db.write() as session:
        user = User(
            email=email or f"{role}{n}@staff.example",
            name=name or f"{role.replace('_', ' ').title()} {n}",
            password_hash=hash_password(password),
            role=role,
            languages=languages,
            active=active,
        )
        session.add(user)
        await session.flush()
    return user


async def make_case(
    services: Services,
    *,
    status: CaseStatus = CaseStatus.SUBMITTED,
    parties: tuple[dict[str, Any], ...] = DEFAULT_PARTIES,
    mediator_id: int | None = None,
    interpreter_ids: list[int] | None = None,
    category: str = "consumer",
    priority: str = "normal",
    languages: list[str] | None = None,
    reference: str | None = None,
) -> Case:
    """A case with its parties, inserted directly with a ``case.filed`` event."""
    n = next(_counter)
    async with services.db.write() as session:
        case = Case(
            reference=reference or f"ACC-2026-{900000 + n:06d}",
            status=status,
            category=category,
            priority=priority,
            amount_minor=129900,
            currency="CNY",
            facts="网购的洗衣机到货后无法启动，商家拒绝退货。",
            desired_outcome="退货并全额退款。",
            languages=languages or ["zh-CN", "en"],
            language_of_record="zh-CN",
            mediator_id=mediator_id,
            interpreter_ids=interpreter_ids or [],
        )
        session.add(case)
        await session.flush()
        for spec in parties:
            session.add(Party(case_id=case.id, **spec))
        await session.flush()
        await append_event(
            session, case, "case.filed", "public", {"reference": case.reference}
        )
    return case


async def parties(services: Services, case: Case) -> list[Party]:
    """The case's parties in filing order (claimant first)."""
    from sqlalchemy import select

    async with services.db.read() as session:
        rows = await session.execute(
            select(Party).where(Party.case_id == case.id).order_by(Party.id)
        )
        return list(rows.scalars())


async def add_evidence(
    services: Services,
    case: Case,
    party: Party | None,
    content: bytes,
    name: str = "receipt.txt",
) -> EvidenceItem:
    """An evidence file on disk with its row and ``evidence.added`` event."""
    directory = services.settings.storage.evidence_dir
    directory.mkdir(parents=True, exist_ok=True)
    storage_name = new_storage_name()
    (directory / storage_name).write_bytes(content)
    digest = hashlib.sha256(content).hexdigest()
    async with services.db.write() as session:
        row = await session.get(Case, case.id)
        assert row is not None
        item = EvidenceItem(
            case_id=case.id,
            party_id=party.id if party else None,
            original_name=name,
            storage_name=storage_name,
            content_type="text/plain",
            size=len(content),
            sha256=digest,
        )
        session.add(item)
        await session.flush()
        await append_event(
            session,
            row,
            "evidence.added",
            f"party:{party.id}" if party else "public",
            {
                "evidence_id": item.id,
                "sha256": digest,
                "storage_name": storage_name,
                "size": len(content),
            },
        )
    return item


def staff_client_cookies(services: Services, user: User) -> dict[str, str]:
    """Cookies of a signed-in staff member, with a CSRF token."""
    return {
        STAFF_COOKIE: services.signer.staff_session(user),
        CSRF_COOKIE: "csrf-" + secrets.token_hex(8),
    }


def csrf_headers(client: httpx.AsyncClient) -> dict[str, str]:
    """The double-submit header matching the client's CSRF cookie."""
    return {"X-CSRF-Token": client.cookies.get(CSRF_COOKIE) or ""}


def bearer(services: Services, party: Party) -> dict[str, str]:
    """An Authorization header carrying the party's link token."""
    return {"Authorization": f"Bearer {services.signer.party_link(party)}"}


# -- a real SMTP server --------------------------------------------------------


@dataclass
class Received:
    """One message the test SMTP server accepted."""

    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class SmtpSink:
    """An aiosmtpd server on a free loopback port that records what it gets."""

    host: str
    port: int
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), message)
            )
        return "250 OK"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname=self.host, port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [r.message for r in self.received if address in r.recipients]


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """A running SMTP server; ``smtp.port`` goes into ACCORD_SMTP_PORT."""
    sink = SmtpSink("127.0.0.1", free_port())
    sink.start()
    yield sink
    sink.stop()
