"""``accord demo``: staff accounts and an assigned case to try Accord with.

Running it again reuses what the first run created. Passwords are derived
from the secret key, so each run prints the same, working passwords without
storing them anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import func, select

from server import casework
from server.auth import Caller, hash_password, verify_password
from server.caselog import append_event
from server.models import (
    Case,
    CaseStatus,
    MediationSession,
    Party,
    PartyRole,
    Role,
    SessionStatus,
    User,
)
from server.services import Services
from server.settings import Settings

DEMO_REFERENCE = "ACC-DEMO-000001"


@dataclass(frozen=True)
class DemoAccount:
    """A demo staff account and its password."""

    role: Role
    email: str
    name: str
    languages: str
    language: str


ACCOUNTS = (
    DemoAccount(
        Role.CASE_OFFICER, "officer@demo.accord", "Chen Jing 陈静", "zh-CN,en", "zh-CN"
    ),
    DemoAccount(Role.MEDIATOR, "mediator@demo.accord", "Alex Morgan", "en,zh-CN", "en"),
    DemoAccount(
        Role.INTERPRETER,
        "interpreter@demo.accord",
        "Liu Yang 刘洋",
        "zh-CN,en",
        "zh-CN",
    ),
)

PARTIES = (
    {
        "role": PartyRole.CLAIMANT,
        "name": "李华",
        "email": "li.hua@demo.accord",
        "phone": "+86 138 0000 0000",
        "language": "zh-CN",
    },
    {
        "role": PartyRole.RESPONDENT,
        "name": "Bright Home Appliances Ltd",
        "email": "support@bright-home.demo.accord",
        "organisation": "Bright Home Appliances Ltd",
        "language": "en",
    },
)


def demo_password(secret_key: str, email: str) -> str:
    """A stable password for a demo account, unguessable without the secret key."""
    mac = hmac.new(secret_key.encode(), f"demo:{email}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:12]).decode()


async def ensure_account(
    services: Services, account: DemoAccount
) -> tuple[User, str, bool]:
    """The demo account, created or reset to its derived password."""
    password = demo_password(services.settings.secret_key, account.email)
    async with services.db.write() as session:
        user = (
            await session.execute(
                select(User).where(func.lower(User.email) == account.email)
            )
        ).scalar_one_or_none()
        created = user is None
        if user is None:
            user = User(
                email=account.email,
                name=account.name,
                password_hash=hash_password(password),
                role=account.role,
                language=account.language,
                languages=account.languages,
            )
            session.add(user)
        elif not verify_password(user.password_hash, password) or not user.active:
            user.password_hash = hash_password(password)
            user.active = True
            user.token_version += 1
        await session.flush()
    return user, password, created


async def ensure_case(
    services: Services, officer: User, mediator: User, interpreter: User
) -> tuple[Case, list[Party], bool]:
    """The demo case, filed, accepted and assigned on the first run."""
    async with services.db.write() as session:
        case = (
            await session.execute(select(Case).where(Case.reference == DEMO_REFERENCE))
        ).scalar_one_or_none()
        created = case is None
        if case is None:
            # direct inserts until intake's file_case is merged (see report)
            case = Case(
                reference=DEMO_REFERENCE,
                status=CaseStatus.SUBMITTED,
                category="ecommerce",
                priority="normal",
                complexity="standard",
                amount_minor=329900,
                currency="CNY",
                facts=(
                    "我在网上购买了一台洗衣机，送货后第二天就无法启动。商家同意维修，"
                    "但三周过去仍未上门。"
                ),
                desired_outcome="退货并全额退款 3299 元。",
                languages=["zh-CN", "en"],
                language_of_record="zh-CN",
            )
            session.add(case)
            await session.flush()
            for spec in PARTIES:
                session.add(Party(case_id=case.id, **spec))
            await session.flush()
            await append_event(
                session, case, "case.filed", "public", {"reference": case.reference}
            )
            by = Caller(user=officer)
            await casework.transition(services, session, case, CaseStatus.ACCEPTED, by)
            await casework.assign(
                services,
                session,
                case,
                by,
                mediator_id=mediator.id,
                interpreter_ids=[interpreter.id],
            )
        parties = await casework.parties_of(session, case)
    return case, parties, created


async def ensure_session(
    services: Services, case: Case, mediator: User
) -> tuple[int, bool]:
    """An open mediation session of the demo case (the first run opens one)."""
    from server.api.sessions import SessionCreate, seat_session

    async with services.db.write() as session:
        found = (
            await session.execute(
                select(MediationSession.id)
                .where(
                    MediationSession.case_id == case.id,
                    MediationSession.status != SessionStatus.ENDED,
                )
                .order_by(MediationSession.id)
            )
        ).scalar()
        if found is not None:
            return int(found), False
        fresh = await session.get(Case, case.id)
        assert fresh is not None
        row = await seat_session(
            services,
            session,
            fresh,
            Caller(user=mediator),
            SessionCreate(title="Demo joint session", open=True),
        )
        return row.id, True


async def run_demo(services: Services) -> list[str]:
    """Create or reuse the demo accounts and case; the lines to print."""
    base = services.settings.public_url.rstrip("/")
    lines = ["Accord demo", "", f"Staff sign-in: {base}/staff/login", ""]
    users = {}
    for account in ACCOUNTS:
        user, password, created = await ensure_account(services, account)
        users[account.role] = user
        state = "created" if created else "reused"
        lines.append(
            f"  {account.role:<13} {account.email:<26} password: {password}  ({state})"
        )
    case, parties, created = await ensure_case(
        services,
        users[Role.CASE_OFFICER],
        users[Role.MEDIATOR],
        users[Role.INTERPRETER],
    )
    lines += [
        "",
        f"Demo case {case.reference} ({case.status}, "
        f"{'created' if created else 'reused'}): {base}/staff/cases/{case.reference}",
        "",
        "Join links (each opens the case as that party; no account needed):",
    ]
    for party in parties:
        lines.append(
            f"  {party.role:<10} {party.name} [{party.language}]: "
            f"{casework.party_link_url(services, party)}"
        )
    session_id, opened = await ensure_session(services, case, users[Role.MEDIATOR])
    lines += [
        "",
        f"Mediation session {session_id} ({'opened' if opened else 'reused'}):",
        f"  mediator console (signed in as the mediator): "
        f"{base}/room/{session_id}/console",
        f"  room for the interpreter: {base}/room/{session_id}",
        "  parties: open the join link, then 'Enter the mediation room'",
    ]
    return lines


def _command(args: argparse.Namespace, settings: Settings) -> int:
    from server.app import build_services
    from server.migrate import upgrade

    upgrade(settings.database.url)

    async def run() -> list[str]:
        services = build_services(settings)
        try:
            return await run_demo(services)
        finally:
            await services.db.dispose()

    for line in asyncio.run(run()):
        print(line)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``demo`` to the ``accord`` command line."""
    parser = sub.add_parser(
        "demo",
        help="create (or reuse) demo staff accounts and a demo case",
        description="Creates a case officer, a mediator and an interpreter, and "
        "an assigned case with a Chinese-speaking claimant and an "
        "English-speaking respondent; prints sign-in details and join links.",
    )
    parser.set_defaults(handler=_command)
