"""Notifications: e-mails are queued in the outbox inside the case transaction.

Queuing in the same transaction as the change means a mail is sent if and
only if the change committed; the sender (server/mailer.py) delivers the
outbox with retries.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from server.models import OutboxMail

logger = logging.getLogger(__name__)


async def enqueue_mail(
    session: AsyncSession,
    *,
    recipient: str,
    language: str,
    subject: str,
    body: str,
    case_id: int | None = None,
) -> OutboxMail:
    """Queue one e-mail for delivery once the surrounding transaction commits."""
    mail = OutboxMail(
        case_id=case_id,
        recipient=recipient,
        language=language,
        subject=subject,
        body=body,
    )
    session.add(mail)
    await session.flush()
    logger.info("mail %s queued for case %s (%s)", mail.id, case_id, language)
    return mail
