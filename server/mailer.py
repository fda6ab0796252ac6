"""The outbox sender: delivers queued mail over SMTP, with retries.

Several worker processes may run a sender each. A mail is claimed before it
is sent by a conditional UPDATE (``status`` pending, or a lapsed lease) that
only one transaction can win; on PostgreSQL the candidates are also picked
with ``FOR UPDATE SKIP LOCKED`` so that senders do not queue behind each
other. The claim sets a lease: a sender that dies mid-delivery leaves the
mail to be retried once the lease lapses, so delivery is at least once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any, cast

import aiosmtplib
from sqlalchemy import CursorResult, or_, select, update

from server.db import Database
from server.models import OutboxMail, utcnow
from server.services import Services
from server.settings import MailSettings

logger = logging.getLogger(__name__)

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
MAX_DELAY_S = 3600.0
BATCH = 20


def build_message(mail: OutboxMail, sender: str) -> EmailMessage:
    """A UTF-8 MIME message for one outbox row."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    domain = parseaddr(sender)[1].partition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(idstring=f"accord-{mail.id}", domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.body, charset="utf-8")
    # after set_content, which clears every Content-* header
    message["Content-Language"] = mail.language
    return message


def retry_delay(attempts: int, base_s: float) -> float:
    """Seconds before the next try after ``attempts`` failures (doubling, capped)."""
    return float(min(MAX_DELAY_S, base_s * 2 ** max(0, attempts - 1)))


class Mailer:
    """Sends due outbox mail; one per process, started with the app."""

    def __init__(
        self,
        db: Database,
        settings: MailSettings,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._warned_unconfigured = False

    @property
    def lease_s(self) -> float:
        """How long a claim holds a mail before another sender may retry it."""
        return self.settings.timeout_s * 2 + 60

    @property
    def configured(self) -> bool:
        return bool(self.settings.host)

    async def claim(self, limit: int = BATCH) -> list[OutboxMail]:
        """Claim up to ``limit`` due mails for this sender, in one transaction."""
        now = self.clock()
        due = or_(
            OutboxMail.status == PENDING,
            OutboxMail.status == SENDING,  # a lapsed lease of a dead sender
        )
        async with self.db.write() as session:
            candidates = select(OutboxMail.id).where(
                due, OutboxMail.next_attempt_at <= now
            )
            if not self.db.is_sqlite:
                candidates = candidates.with_for_update(skip_locked=True)
            ids = list(
                (
                    await session.execute(
                        candidates.order_by(
                            OutboxMail.next_attempt_at, OutboxMail.id
                        ).limit(limit)
                    )
                ).scalars()
            )
            won: list[int] = []
            for mail_id in ids:
                result = await session.execute(
                    update(OutboxMail)
                    .where(
                        OutboxMail.id == mail_id,
                        due,
                        OutboxMail.next_attempt_at <= now,
                    )
                    .values(
                        status=SENDING,
                        attempts=OutboxMail.attempts + 1,
                        next_attempt_at=now + timedelta(seconds=self.lease_s),
                    )
                    .execution_options(synchronize_session=False)
                )
                if cast(CursorResult[Any], result).rowcount == 1:
                    won.append(mail_id)
            if not won:
                return []
            rows = await session.execute(
                select(OutboxMail)
                .where(OutboxMail.id.in_(won))
                .order_by(OutboxMail.id)
                .execution_options(populate_existing=True)
            )
            return list(rows.scalars())

    async def deliver(self, mail: OutboxMail) -> None:
        """Hand one message to the SMTP server; raises on any failure."""
        s = self.settings
        await aiosmtplib.send(
            build_message(mail, s.sender),
            hostname=s.host,
            port=s.port,
            username=s.username,
            password=s.password,
            start_tls=s.starttls,
            timeout=s.timeout_s,
        )

    async def _settle(self, mail: OutboxMail, error: Exception | None) -> str:
        now = self.clock()
        if error is None:
            values = {"status": SENT, "sent_at": now, "last_error": None}
        elif mail.attempts >= self.settings.max_attempts:
            values = {"status": FAILED, "last_error": _describe(error)}
        else:
            delay = retry_delay(mail.attempts, self.settings.retry_base_s)
            values = {
                "status": PENDING,
                "last_error": _describe(error),
                "next_attempt_at": now + timedelta(seconds=delay),
            }
        async with self.db.write() as session:
            await session.execute(
                update(OutboxMail)
                .where(OutboxMail.id == mail.id, OutboxMail.status == SENDING)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        return str(values["status"])

    async def send_due(self, limit: int = BATCH) -> int:
        """One pass: claim and deliver due mail; returns how many were sent."""
        if not self.configured:
            if not self._warned_unconfigured:
                logger.info(
                    "ACCORD_SMTP_HOST is unset: mail stays queued in the outbox"
                )
                self._warned_unconfigured = True
            return 0
        sent = 0
        for mail in await self.claim(limit):
            error: Exception | None = None
            try:
                await self.deliver(mail)
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                error = exc
            outcome = await self._settle(mail, error)
            if outcome == SENT:
                sent += 1
                logger.info(
                    "mail %s for case %s sent (attempt %s)",
                    mail.id,
                    mail.case_id,
                    mail.attempts,
                )
            elif outcome == FAILED:
                logger.warning(
                    "mail %s for case %s failed for good after %s attempts: %s",
                    mail.id,
                    mail.case_id,
                    mail.attempts,
                    _describe(error),
                )
            else:
                logger.warning(
                    "mail %s for case %s not sent (attempt %s), will retry: %s",
                    mail.id,
                    mail.case_id,
                    mail.attempts,
                    _describe(error),
                )
        return sent

    def wake(self) -> None:
        """Look at the outbox now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Poll the outbox until stopped; a failed pass is logged, not fatal."""
        while not self._stop.is_set():
            try:
                sent = await self.send_due()
            except Exception:
                logger.exception("the outbox sender failed a pass")
                sent = 0
            if sent:
                continue  # there may be more due right away
            self._wake.clear()
            waiters = {
                asyncio.ensure_future(self._stop.wait()),
                asyncio.ensure_future(self._wake.wait()),
            }
            _, pending = await asyncio.wait(
                waiters,
                timeout=self.settings.poll_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
            for waiter in pending | waiters:
                waiter.cancel()

    async def start(self) -> None:
        """Start the background sender (only logs when SMTP is not configured)."""
        if not self.configured:
            await self.send_due()  # logs once that mail stays queued
            return
        self._stop.clear()
        self._task = asyncio.create_task(self.run(), name="accord-mailer")
        logger.info(
            "outbox sender started (smtp %s:%s)", self.settings.host, self.settings.port
        )

    async def stop(self) -> None:
        """Stop the sender after its current delivery."""
        if self._task is None:
            return
        self._stop.set()
        try:
            await asyncio.wait_for(self._task, timeout=self.settings.timeout_s + 5)
        except TimeoutError:
            self._task.cancel()
        self._task = None


def _describe(error: Exception | None) -> str:
    if error is None:
        return ""
    return f"{type(error).__name__}: {error}"[:500]


def install_mailer(services: Services) -> Mailer:
    """Create the process's outbox sender and tie it to the app's lifespan."""
    mailer = Mailer(services.db, services.settings.mail)
    services.extras["mailer"] = mailer
    services.on_start.append(mailer.start)
    services.on_stop.append(mailer.stop)
    return mailer
