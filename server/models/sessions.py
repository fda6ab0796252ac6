"""Mediation sessions, their participants and the room transcript."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base, Timestamped, str_enum


class SessionStatus(enum.StrEnum):
    """The life of a mediation session."""

    SCHEDULED = "scheduled"
    OPEN = "open"
    ENDED = "ended"


class ParticipantKind(enum.StrEnum):
    """Who a participant is in the room."""

    PARTY = "party"
    REPRESENTATIVE = "representative"
    MEDIATOR = "mediator"
    INTERPRETER = "interpreter"
    OBSERVER = "observer"


class MediationSession(Timestamped, Base):
    """A live meeting of a case: one lobby, one joint room, any caucuses."""

    __tablename__ = "mediation_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True, nullable=False
    )
    status: Mapped[SessionStatus] = mapped_column(
        str_enum(SessionStatus),
        default=SessionStatus.SCHEDULED,
        nullable=False,
    )
    title: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    scheduled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    locked: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # the last sequence number handed out; incremented in the same
    # transaction that stores the line, so numbers never repeat
    last_seq: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # caucus rooms as {room_key: {"name": ..., "members": [participant ids]}}
    rooms: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Participant(Timestamped, Base):
    """A person's seat in one session, with their current placement."""

    __tablename__ = "participants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("mediation_sessions.id", ondelete="CASCADE"),
        index=True,
        nullable=False,
    )
    kind: Mapped[ParticipantKind] = mapped_column(
        str_enum(ParticipantKind), nullable=False
    )
    party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # an interpreter or representative sits with this party and follows them
    attached_party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"))
    display_name: Mapped[str] = mapped_column(String(200), nullable=False)
    language: Mapped[str] = mapped_column(String(10), default="en", nullable=False)
    # "lobby", "joint" or a caucus key; the room they were last admitted to
    placement: Mapped[str] = mapped_column(String(40), default="lobby", nullable=False)
    admitted: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    muted: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    removed: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # refused at the lobby by a mediator; cannot connect again
    denied: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # bumped to revoke every room token issued for this seat so far
    token_version: Mapped[int] = mapped_column(Integer, default=0, nullable=False)


class TranscriptLine(Base):
    """One room event: chat, move, offer, consent; the session's durable log."""

    __tablename__ = "transcript_lines"
    __table_args__ = (
        UniqueConstraint("session_id", "seq"),
        UniqueConstraint("session_id", "participant_id", "client_id"),
        # updates of one line (corrections, translations, drafts)
        Index("ix_transcript_lines_session_ref", "session_id", "ref_seq"),
        # the latest line of a kind (the session's translation mode)
        Index("ix_transcript_lines_session_kind", "session_id", "kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("mediation_sessions.id", ondelete="CASCADE"), nullable=False
    )
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    client_id: Mapped[str | None] = mapped_column(String(64))
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"))
    room: Mapped[str] = mapped_column(String(40), nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    # who may see it: a room key ("joint", "caucus-2"), or "mediator", or
    # "participant:<id>" for a line meant for one person only
    visibility: Mapped[str] = mapped_column(String(60), nullable=False)
    content: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    # for caucus lines: the party sides present when it was said, the only
    # sides (with the mediators) who may ever see it
    audience: Mapped[list[int]] = mapped_column(JSON, default=list, nullable=False)
    # the seq of the first line written by the same event (idempotent resend)
    batch_seq: Mapped[int | None] = mapped_column(Integer)
    # the line this one updates (a correction, withdrawal, translation)
    ref_seq: Mapped[int | None] = mapped_column(Integer)
    # what non-mediators now see of this line after an update
    revision: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    language: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False
    )
