"""Cases, their parties, evidence and the hash-chained case event log."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.base import Base, Timestamped, str_enum, utcnow


class CaseStatus(enum.StrEnum):
    """Where a case stands; moves are governed by server/casework.py."""

    SUBMITTED = "submitted"
    INFO_REQUESTED = "info_requested"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    ASSIGNED = "assigned"
    IN_MEDIATION = "in_mediation"
    CLOSED = "closed"


class PartyRole(enum.StrEnum):
    """A party's side in the dispute."""

    CLAIMANT = "claimant"
    RESPONDENT = "respondent"


class EvidenceStatus(enum.StrEnum):
    """The case officer's verdict on an evidence item."""

    UNVERIFIED = "unverified"
    VERIFIED = "verified"
    QUESTIONED = "questioned"


class Case(Timestamped, Base):
    """A dispute filed with Accord."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    status: Mapped[CaseStatus] = mapped_column(
        str_enum(CaseStatus),
        default=CaseStatus.SUBMITTED,
        nullable=False,
    )
    category: Mapped[str] = mapped_column(String(40), nullable=False)
    priority: Mapped[str] = mapped_column(String(10), default="normal", nullable=False)
    complexity: Mapped[str] = mapped_column(
        String(10), default="standard", nullable=False
    )
    # money is kept in minor units (cents, fen) to avoid float rounding
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    facts: Mapped[str] = mapped_column(Text, nullable=False)
    desired_outcome: Mapped[str] = mapped_column(Text, nullable=False)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list, nullable=False)
    language_of_record: Mapped[str] = mapped_column(
        String(10), default="en", nullable=False
    )
    recording_allowed: Mapped[bool] = mapped_column(
        Boolean, default=False, nullable=False
    )
    mediator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # staff ids of the interpreters working on this case
    interpreter_ids: Mapped[list[int]] = mapped_column(
        JSON, default=list, nullable=False
    )
    decision_reason: Mapped[str | None] = mapped_column(Text)
    respond_by: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closure_outcome: Mapped[str | None] = mapped_column(String(30))
    # head of the hash-chained event log (server/caselog.py)
    event_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    head_hash: Mapped[str] = mapped_column(String(64), default="0" * 64, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, nullable=False
    )

    parties: Mapped[list[Party]] = relationship(
        back_populates="case", order_by="Party.id", lazy="selectin"
    )


class Party(Timestamped, Base):
    """A claimant or respondent; joins through a signed link, not an account."""

    __tablename__ = "parties"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True, nullable=False
    )
    role: Mapped[PartyRole] = mapped_column(str_enum(PartyRole), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    organisation: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(10), default="en", nullable=False)
    # bumped to revoke every link issued to this party so far
    link_version: Mapped[int] = mapped_column(Integer, default=0, nullable=False)

    case: Mapped[Case] = relationship(back_populates="parties")


class EvidenceItem(Timestamped, Base):
    """A file submitted in support of a case, stored under a generated name."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True, nullable=False
    )
    party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"))
    uploader_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    category: Mapped[str] = mapped_column(String(40), default="other", nullable=False)
    description: Mapped[str] = mapped_column(Text, default="", nullable=False)
    original_name: Mapped[str] = mapped_column(String(255), nullable=False)
    storage_name: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), index=True, nullable=False)
    # private evidence is visible to its own side and staff only
    private: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    status: Mapped[EvidenceStatus] = mapped_column(
        str_enum(EvidenceStatus),
        default=EvidenceStatus.UNVERIFIED,
        nullable=False,
    )
    status_note: Mapped[str | None] = mapped_column(Text)


class CaseEvent(Base):
    """One entry of a case's append-only, hash-chained event log."""

    __tablename__ = "case_events"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True, nullable=False
    )
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(60), nullable=False)
    actor: Mapped[str] = mapped_column(String(80), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    # stored as text, exactly as hashed, so that the chain can be recomputed
    created_at: Mapped[str] = mapped_column(String(40), nullable=False)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)


class OutboxMail(Timestamped, Base):
    """An e-mail waiting to be sent, retried with back-off until it goes."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(320), nullable=False)
    language: Mapped[str] = mapped_column(String(10), nullable=False)
    subject: Mapped[str] = mapped_column(String(300), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(10), default="pending", nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, nullable=False
    )
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
