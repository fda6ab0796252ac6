"""Offers, blind bids, packages, opinions, agreements, signatures and feedback."""

from __future__ import annotations

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
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base, Timestamped, utcnow


class Offer(Timestamped, Base):
    """A structured offer made in a session; its terms are a JSON list."""

    __tablename__ = "offers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True, nullable=False
    )
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("mediation_sessions.id", ondelete="CASCADE"), index=True
    )
    author_participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id")
    )
    # None for a mediator's proposal
    author_party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"))
    author_role: Mapped[str] = mapped_column(String(20), nullable=False)
    room: Mapped[str] = mapped_column(String(40), nullable=False)
    caucus_party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"))
    released: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    answers_offer_id: Mapped[int | None] = mapped_column(ForeignKey("offers.id"))
    terms: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    note: Mapped[str] = mapped_column(Text, default="", nullable=False)
    acceptances: Mapped[list[int]] = mapped_column(JSON, default=list, nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, nullable=False
    )


class OfferEvent(Timestamped, Base):
    """One step in an offer's history: made, released, accepted, rejected..."""

    __tablename__ = "offer_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    offer_id: Mapped[int] = mapped_column(
        ForeignKey("offers.id", ondelete="CASCADE"), index=True, nullable=False
    )
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"))
    party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"))
    reason: Mapped[str | None] = mapped_column(Text)


class BidRound(Timestamped, Base):
    """A blind bid opened by the mediator; runs up to ``rounds`` rounds."""

    __tablename__ = "bid_rounds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True, nullable=False
    )
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("mediation_sessions.id", ondelete="CASCADE"), index=True
    )
    rule: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    demand_party_id: Mapped[int] = mapped_column(
        ForeignKey("parties.id"), nullable=False
    )
    offer_party_id: Mapped[int] = mapped_column(
        ForeignKey("parties.id"), nullable=False
    )
    current_round: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    settled_amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("participants.id"))


class SealedBid(Timestamped, Base):
    """One party's sealed figure in one round; never shown to the other side."""

    __tablename__ = "sealed_bids"
    __table_args__ = (UniqueConstraint("bid_round_id", "round_no", "party_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bid_round_id: Mapped[int] = mapped_column(
        ForeignKey("bid_rounds.id", ondelete="CASCADE"), index=True, nullable=False
    )
    round_no: Mapped[int] = mapped_column(Integer, nullable=False)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), nullable=False)
    figure_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)


class PackageIssue(Timestamped, Base):
    """An issue of a multi-issue package and its options, in entry order."""

    __tablename__ = "package_issues"
    __table_args__ = (UniqueConstraint("case_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True, nullable=False
    )
    key: Mapped[str] = mapped_column(String(120), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    options: Mapped[list[str]] = mapped_column(JSON, nullable=False)


class PackageRating(Timestamped, Base):
    """One party's private weight of an issue and ratings of its options."""

    __tablename__ = "package_ratings"
    __table_args__ = (UniqueConstraint("issue_id", "party_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issue_id: Mapped[int] = mapped_column(
        ForeignKey("package_issues.id", ondelete="CASCADE"), index=True, nullable=False
    )
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), nullable=False)
    weight: Mapped[int] = mapped_column(Integer, nullable=False)
    ratings: Mapped[dict[str, int]] = mapped_column(JSON, nullable=False)


class Opinion(Timestamped, Base):
    """The mediator's written opinion: facts, analysis, recommended solution."""

    __tablename__ = "opinions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True, nullable=False
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    language: Mapped[str] = mapped_column(String(10), nullable=False)
    facts: Mapped[str] = mapped_column(Text, default="", nullable=False)
    analysis: Mapped[str] = mapped_column(Text, default="", nullable=False)
    recommendation: Mapped[str] = mapped_column(Text, default="", nullable=False)
    status: Mapped[str] = mapped_column(String(10), default="draft", nullable=False)
    issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sha256: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, nullable=False
    )


class Agreement(Timestamped, Base):
    """A settlement agreement of a case; its text lives in versions."""

    __tablename__ = "agreements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True, nullable=False
    )
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offers.id"))
    status: Mapped[str] = mapped_column(String(12), default="open", nullable=False)
    current_version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AgreementVersion(Timestamped, Base):
    """One version of the agreement's canonical text and its SHA-256."""

    __tablename__ = "agreement_versions"
    __table_args__ = (UniqueConstraint("agreement_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), index=True, nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    # canonical JSON of {language_of_record, languages, terms, texts}; hashed
    canonical: Mapped[str] = mapped_column(Text, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    voided: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    created_by: Mapped[str] = mapped_column(String(80), nullable=False)


class Signature(Base):
    """A party's signature or the mediator's countersignature on one version."""

    __tablename__ = "signatures"
    __table_args__ = (UniqueConstraint("version_id", "signer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("agreement_versions.id", ondelete="CASCADE"),
        index=True,
        nullable=False,
    )
    # "party:<id>" or "user:<id>"
    signer: Mapped[str] = mapped_column(String(40), nullable=False)
    signer_role: Mapped[str] = mapped_column(String(20), nullable=False)
    typed_name: Mapped[str] = mapped_column(String(200), nullable=False)
    consent: Mapped[bool] = mapped_column(Boolean, nullable=False)
    # text, exactly as hashed
    signed_at: Mapped[str] = mapped_column(String(40), nullable=False)
    ip: Mapped[str] = mapped_column(String(64), nullable=False)
    user_agent: Mapped[str] = mapped_column(String(400), nullable=False)
    agreement_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    # SHA-256 over every field above, so a signature cannot be edited either
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    voided: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)


class Feedback(Base):
    """One anonymous survey answer; holds no party, user or time of day."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True, nullable=False
    )
    respondent_kind: Mapped[str] = mapped_column(String(20), nullable=False)
    closure_outcome: Mapped[str | None] = mapped_column(String(30))
    satisfaction: Mapped[int] = mapped_column(Integer, nullable=False)
    fairness: Mapped[int] = mapped_column(Integer, nullable=False)
    ease_of_use: Mapped[int] = mapped_column(Integer, nullable=False)
    would_use_again: Mapped[bool] = mapped_column(Boolean, nullable=False)
    comment: Mapped[str] = mapped_column(Text, default="", nullable=False)
    # the date only, so that the row cannot be matched to a receipt by time
    submitted_on: Mapped[str] = mapped_column(String(10), nullable=False)


class FeedbackReceipt(Base):
    """A keyed hash proving one participant has answered; unlinkable to the row."""

    __tablename__ = "feedback_receipts"

    # the digest is the key: no sequence number that would line a receipt
    # up with the feedback row written in the same transaction
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
