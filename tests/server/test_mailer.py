"""The outbox sender against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from server.db import Database
from server.mailer import Mailer, retry_delay
from server.models import OutboxMail, Role, utcnow
from server.notify import enqueue_mail
from server.settings import MailSettings
from tests.conftest import RunningApp, free_port, make_settings
from tests.server.casework_factories import (
    SmtpSink,
    make_case,
    make_user,
    parties,
    smtp,
    staff_client_cookies,
)

__all__ = ["smtp"]  # the fixture, imported for this module's tests


@pytest.fixture
async def mail_app(
    database_url: str, tmp_path: Path, smtp: SmtpSink
) -> AsyncIterator[RunningApp]:
    """The app with its outbox sender pointed at the test SMTP server."""
    from server.app import create_app

    settings = make_settings(
        database_url,
        tmp_path,
        ACCORD_SMTP_HOST=smtp.host,
        ACCORD_SMTP_PORT=str(smtp.port),
        ACCORD_MAIL_POLL_S="0.05",
        ACCORD_MAIL_FROM="Accord <accord@example.org>",
    )
    running = RunningApp(create_app(settings))
    async with running.starlette.router.lifespan_context(running.starlette):
        yield running


async def _wait_for(predicate: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting for mail")
        await asyncio.sleep(0.05)


async def _outbox(db: Database) -> list[OutboxMail]:
    async with db.read() as session:
        return list(
            (await session.execute(select(OutboxMail).order_by(OutboxMail.id)))
            .scalars()
            .all()
        )


async def test_status_mail_arrives_in_the_partys_language_with_a_working_link(
    mail_app: RunningApp, smtp: SmtpSink
) -> None:
    services = mail_app.services
    officer = await make_user(services, Role.CASE_OFFICER)
    case = await make_case(services)
    claimant, respondent = await parties(services, case)

    async with mail_app.client(
        cookies=staff_client_cookies(services, officer)
    ) as staff:
        accepted = await staff.post(
            f"/api/cases/{case.reference}/screening",
            json={"decision": "accept"},
            headers={"X-CSRF-Token": staff.cookies["accord_csrf"]},
        )
        assert accepted.status_code == 200, accepted.text

    await _wait_for(lambda: len(smtp.received) == 2)
    assert sorted(r for m in smtp.received for r in m.recipients) == sorted(
        [claimant.email, respondent.email]
    )
    assert all(m.sender == "accord@example.org" for m in smtp.received)

    (chinese,) = smtp.to(claimant.email)
    assert chinese["Subject"] == f"案件 {case.reference}：已受理"
    assert chinese["Content-Language"] == "zh-CN"
    assert chinese.get_content_charset() == "utf-8"
    body = chinese.get_content()
    assert "王小明，您好" in body and "已受理" in body

    (english,) = smtp.to(respondent.email)
    assert english["Subject"] == f"Case {case.reference}: Accepted"
    assert "Dear Shop Ltd" in english.get_content()

    # the link in the Chinese mail opens the claimant's own case
    link = next(line for line in body.splitlines() if line.startswith("http")).strip()
    assert link.startswith(f"{services.settings.public_url}/p/")
    async with mail_app.client() as browser:
        opened = await browser.get(link.removeprefix(services.settings.public_url))
        assert opened.status_code == 303
        assert opened.headers["location"] == f"/case/{case.reference}"
        cookie = opened.headers["set-cookie"].lower()
        assert "accord_party=" in cookie
        assert "httponly" in cookie and "samesite=lax" in cookie
        page = await browser.get("/my-case")
        assert page.status_code == 200
        assert case.reference in page.text
        assert "王小明" in page.text
        assert "已受理" in page.text
        # and the JSON API now knows them as that party
        mine = await browser.get(f"/api/cases/{case.reference}")
        assert mine.status_code == 200

    # sent rows are marked so, each tried once
    rows = await _outbox(services.db)
    assert [(r.status, r.attempts) for r in rows] == [("sent", 1), ("sent", 1)]


async def test_a_forged_or_revoked_link_opens_nothing(
    mail_app: RunningApp,
) -> None:
    async with mail_app.client() as browser:
        page = await browser.get("/p/not-a-real-token")
        assert page.status_code == 401
        assert "accord_party" not in page.headers.get("set-cookie", "")


def _mail_settings(port: int, **overrides: object) -> MailSettings:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": port,
        "retry_base_s": 10.0,
        "max_attempts": 3,
        "timeout_s": 5.0,
    }
    values.update(overrides)
    return MailSettings(**values)  # type: ignore[arg-type]


async def _queue(db: Database, count: int, language: str = "en") -> None:
    async with db.write() as session:
        for i in range(count):
            await enqueue_mail(
                session,
                recipient=f"person{i}@example.org",
                language=language,
                subject=f"Mail {i}",
                body=f"Body {i} — 正文",
            )


async def test_retries_with_back_off_until_the_server_is_up(
    app: RunningApp,
) -> None:
    db = app.services.db
    port = free_port()
    await _queue(db, 1)
    now = [utcnow()]
    mailer = Mailer(db, _mail_settings(port), clock=lambda: now[0])

    # nobody listens on the port: the attempt fails and is rescheduled
    assert await mailer.send_due() == 0
    (row,) = await _outbox(db)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error and row.last_error.startswith("SMTPConnect")
    first_delay = row.next_attempt_at.replace(tzinfo=now[0].tzinfo) - now[0]
    assert abs(first_delay.total_seconds() - 10.0) < 1

    # not due yet: nothing is tried
    assert await mailer.send_due() == 0
    assert (await _outbox(db))[0].attempts == 1

    # a second failure doubles the delay
    now[0] += timedelta(seconds=11)
    assert await mailer.send_due() == 0
    (row,) = await _outbox(db)
    assert row.attempts == 2
    second_delay = row.next_attempt_at.replace(tzinfo=now[0].tzinfo) - now[0]
    assert abs(second_delay.total_seconds() - 20.0) < 1

    # the server comes up; the next due attempt delivers
    sink = SmtpSink("127.0.0.1", port)
    sink.start()
    try:
        now[0] += timedelta(seconds=21)
        assert await mailer.send_due() == 1
        await _wait_for(lambda: len(sink.received) == 1)
    finally:
        sink.stop()
    (row,) = await _outbox(db)
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)
    assert sink.received[0].message.get_content().strip() == "Body 0 — 正文"


async def test_gives_up_after_the_last_attempt(app: RunningApp) -> None:
    db = app.services.db
    await _queue(db, 1)
    now = [utcnow()]
    mailer = Mailer(db, _mail_settings(free_port()), clock=lambda: now[0])
    for _ in range(3):
        await mailer.send_due()
        now[0] += timedelta(hours=2)
    (row,) = await _outbox(db)
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.last_error
    assert await mailer.send_due() == 0
    assert (await _outbox(db))[0].attempts == 3


def test_back_off_doubles_and_is_capped() -> None:
    assert [retry_delay(n, 30) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay(30, 30) == 3600


async def test_two_senders_never_deliver_the_same_mail(
    settings: object, smtp: SmtpSink
) -> None:
    from server.app import build_services

    count = 40
    # two engines, as two worker processes would have
    first = build_services(settings)  # type: ignore[arg-type]
    second = build_services(settings)  # type: ignore[arg-type]
    try:
        await _queue(first.db, count)
        senders = [Mailer(s.db, _mail_settings(smtp.port)) for s in (first, second)]

        async def drain(mailer: Mailer) -> int:
            total = 0
            for _ in range(50):
                sent = await mailer.send_due(limit=3)
                total += sent
                if not sent and all(
                    r.status == "sent" for r in await _outbox(mailer.db)
                ):
                    break
                await asyncio.sleep(0)
            return total

        sent = await asyncio.gather(*(drain(m) for m in senders))
        await _wait_for(lambda: len(smtp.received) >= count)
        await asyncio.sleep(0.2)  # a duplicate would arrive by now
    finally:
        await first.db.dispose()
        await second.db.dispose()

    subjects = [r.message["Subject"] for r in smtp.received]
    assert len(subjects) == count
    assert sorted(subjects) == sorted(f"Mail {i}" for i in range(count))
    assert sum(sent) == count
    # both senders took part, so the claims were really contended
    assert all(n > 0 for n in sent), sent


async def test_without_smtp_mail_stays_queued_and_says_so_once(
    app: RunningApp, caplog: pytest.LogCaptureFixture
) -> None:
    db = app.services.db
    mailer = Mailer(db, MailSettings(host=None))
    await _queue(db, 2)
    with caplog.at_level(logging.INFO, logger="server.mailer"):
        assert await mailer.send_due() == 0
        assert await mailer.send_due() == 0
    assert [r.status for r in await _outbox(db)] == ["pending", "pending"]
    notes = [r for r in caplog.records if "ACCORD_SMTP_HOST is unset" in r.message]
    assert len(notes) == 1 and notes[0].levelno == logging.INFO


async def test_a_mail_claimed_by_a_dead_sender_is_retried_after_its_lease(
    app: RunningApp, smtp: SmtpSink
) -> None:
    db = app.services.db
    await _queue(db, 1)
    now = [utcnow()]
    crashed = Mailer(db, _mail_settings(smtp.port), clock=lambda: now[0])
    survivor = Mailer(db, _mail_settings(smtp.port), clock=lambda: now[0])

    # the first sender claims the mail and dies before delivering it
    (claimed,) = await crashed.claim()
    assert claimed.status == "sending"
    assert await survivor.send_due() == 0  # the lease still holds
    assert smtp.received == []

    now[0] += timedelta(seconds=crashed.lease_s + 1)
    assert await survivor.send_due() == 1
    await _wait_for(lambda: len(smtp.received) == 1)
    (row,) = await _outbox(db)
    assert (row.status, row.attempts) == ("sent", 2)
