"""``accord verify-case`` catches each kind of tampering; ``accord demo`` works."""

from __future__ import annotations

import asyncio
import hashlib
import re
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update

from server import cli
from server.models import (
    Case,
    CaseEvent,
    EvidenceItem,
    MediationSession,
    Participant,
    ParticipantKind,
    Party,
    SessionStatus,
    User,
)
from tests.conftest import TEST_SECRET, RunningApp
from tests.server.casework_factories import add_evidence, make_case, parties


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> None:
    """Point the in-process CLI at the same database and data as the app."""
    monkeypatch.setenv("ACCORD_DATABASE_URL", database_url)
    monkeypatch.setenv("ACCORD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ACCORD_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("ACCORD_PUBLIC_URL", "http://127.0.0.1:8000")


async def accord(*argv: str) -> int:
    """Run the CLI in a thread (it runs its own event loop)."""
    return await asyncio.to_thread(cli.main, ["--log-level", "warning", *argv])


async def _case_with_evidence(app: RunningApp) -> tuple[Case, list[EvidenceItem]]:
    services = app.services
    case = await make_case(services)
    claimant, respondent = await parties(services, case)
    items = [
        await add_evidence(services, case, claimant, b"receipt: 3299 CNY\n"),
        await add_evidence(services, case, respondent, "聊天记录".encode()),
    ]
    return case, items


async def _events(app: RunningApp, case: Case) -> list[CaseEvent]:
    async with app.services.db.read() as session:
        rows = await session.execute(
            select(CaseEvent)
            .where(CaseEvent.case_id == case.id)
            .order_by(CaseEvent.seq)
        )
        return list(rows.scalars())


async def test_an_intact_case_passes_and_an_unknown_one_is_2(
    app: RunningApp, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    case, _ = await _case_with_evidence(app)
    assert await accord("verify-case", case.reference) == 0
    out = capsys.readouterr().out
    assert "intact (3 events" in out and "2 evidence files" in out
    assert await accord("verify-case", "ACC-0000-NOPE") == 2
    assert "no case with reference" in capsys.readouterr().out


async def test_a_flipped_byte_in_an_evidence_file_is_reported(
    app: RunningApp, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    case, items = await _case_with_evidence(app)
    path = app.services.settings.storage.evidence_dir / items[1].storage_name
    data = bytearray(path.read_bytes())
    data[3] ^= 0x01
    path.write_bytes(bytes(data))

    assert await accord("verify-case", case.reference) == 1
    out = capsys.readouterr().out
    assert "TAMPERED" in out
    assert f"first broken link: evidence #{items[1].id}" in out
    assert "the file was changed" in out
    assert f"evidence #{items[0].id}" not in out


async def test_a_missing_evidence_file_is_reported(
    app: RunningApp, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    case, items = await _case_with_evidence(app)
    (app.services.settings.storage.evidence_dir / items[0].storage_name).unlink()
    assert await accord("verify-case", case.reference) == 1
    assert "the file is missing" in capsys.readouterr().out


async def test_an_edited_evidence_row_is_reported(
    app: RunningApp, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # swapping in a new file and its hash still disagrees with the event log
    case, items = await _case_with_evidence(app)
    path = app.services.settings.storage.evidence_dir / items[0].storage_name
    path.write_bytes(b"forged receipt")
    async with app.services.db.write() as session:
        await session.execute(
            update(EvidenceItem)
            .where(EvidenceItem.id == items[0].id)
            .values(sha256=hashlib.sha256(b"forged receipt").hexdigest())
        )
    assert await accord("verify-case", case.reference) == 1
    out = capsys.readouterr().out
    assert "the row was changed" in out
    assert f"not the {items[0].sha256[:12]}" in out


async def test_an_edited_event_payload_is_reported(
    app: RunningApp, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    case, items = await _case_with_evidence(app)
    target = (await _events(app, case))[1]  # the first evidence.added
    async with app.services.db.write() as session:
        await session.execute(
            update(CaseEvent)
            .where(CaseEvent.id == target.id)
            .values(payload={**target.payload, "size": 1})
        )
    assert await accord("verify-case", case.reference) == 1
    out = capsys.readouterr().out
    assert "first broken link: event #2" in out
    assert "was changed after it was written" in out


async def test_a_deleted_event_is_reported(
    app: RunningApp, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    case, _ = await _case_with_evidence(app)
    middle = (await _events(app, case))[1]
    async with app.services.db.write() as session:
        await session.execute(delete(CaseEvent).where(CaseEvent.id == middle.id))
    assert await accord("verify-case", case.reference) == 1
    out = capsys.readouterr().out
    assert "first broken link: event #3" in out
    assert "expected event #2" in out
    # the evidence it recorded has lost its hash record
    assert "no evidence.added event" in out


async def test_a_deleted_last_event_is_reported(
    app: RunningApp, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    case, _ = await _case_with_evidence(app)
    last = (await _events(app, case))[-1]
    async with app.services.db.write() as session:
        await session.execute(delete(CaseEvent).where(CaseEvent.id == last.id))
    assert await accord("verify-case", case.reference) == 1
    assert "events were removed or added" in capsys.readouterr().out


async def test_two_reordered_events_are_reported(
    app: RunningApp, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    case, _ = await _case_with_evidence(app)
    events = await _events(app, case)
    a, b = events[1], events[2]
    async with app.services.db.write() as session:
        # through a free number, because (case_id, seq) is unique
        for event_id, seq in ((a.id, -1), (b.id, a.seq), (a.id, b.seq)):
            await session.execute(
                update(CaseEvent).where(CaseEvent.id == event_id).values(seq=seq)
            )
    assert await accord("verify-case", case.reference) == 1
    out = capsys.readouterr().out
    assert "first broken link: event #3" in out
    assert "reordered" in out


async def test_demo_creates_once_and_its_links_and_passwords_work(
    app: RunningApp, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await accord("demo") == 0
    first = capsys.readouterr().out
    assert await accord("demo") == 0
    second = capsys.readouterr().out
    assert "(created)" in first and "(created)" not in second
    assert "Staff sign-in: http://127.0.0.1:8000/staff/login" in second

    async with app.services.db.read() as session:
        assert (await session.execute(select(func.count(User.id)))).scalar_one() == 3
        cases = list((await session.execute(select(Case))).scalars())
    assert [(c.reference, c.status) for c in cases] == [("ACC-DEMO-000001", "assigned")]

    accounts = re.findall(r"(\S+@demo\.accord)\s+password: (\S+)", second)
    assert len(accounts) == 3
    assert accounts == re.findall(r"(\S+@demo\.accord)\s+password: (\S+)", first)
    for email, password in accounts:
        async with app.client() as browser:
            signed_in = await browser.post(
                "/api/auth/login", json={"email": email, "password": password}
            )
            assert signed_in.status_code == 200, (email, signed_in.text)

    links = re.findall(r"(claimant|respondent) .*\[(en|zh-CN)\]: (\S+)", second)
    assert {(role, lang) for role, lang, _ in links} == {
        ("claimant", "zh-CN"),
        ("respondent", "en"),
    }
    # one open session, opened once, with every seat the case calls for
    consoles = re.findall(r"mediator console .*: (\S+)/room/(\d+)/console", second)
    assert consoles == re.findall(
        r"mediator console .*: (\S+)/room/(\d+)/console", first
    )
    session_id = int(consoles[0][1])
    async with app.services.db.read() as session:
        rows = list((await session.execute(select(MediationSession))).scalars())
        seats = list(
            (
                await session.execute(
                    select(Participant).where(Participant.session_id == session_id)
                )
            ).scalars()
        )
        claimant = (
            await session.execute(select(Party).where(Party.role == "claimant"))
        ).scalar_one()
    assert [(r.id, r.status) for r in rows] == [(session_id, SessionStatus.OPEN)]
    assert sorted(str(s.kind) for s in seats) == [
        "interpreter",
        "mediator",
        "party",
        "party",
    ]
    (interpreter,) = [s for s in seats if s.kind == ParticipantKind.INTERPRETER]
    assert interpreter.attached_party_id == claimant.id

    for _, _, link in links:
        async with app.client() as browser:
            opened = await browser.get(link.removeprefix("http://127.0.0.1:8000"))
            assert opened.status_code == 303
            page = await browser.get("/my-case")
            assert "ACC-DEMO-000001" in page.text
            case_page = await browser.get("/case/ACC-DEMO-000001")
            assert f'href="/room/{session_id}"' in case_page.text
            room = await browser.get(f"/room/{session_id}")
            assert room.status_code == 200
    assert await accord("verify-case", "ACC-DEMO-000001") == 0
