"""The SQLAlchemy models of the case record; importing this registers them all."""

from server.models.base import Base, utcnow
from server.models.cases import (
    Case,
    CaseEvent,
    CaseStatus,
    EvidenceItem,
    EvidenceStatus,
    OutboxMail,
    Party,
    PartyRole,
)
from server.models.intake import ReferenceCounter
from server.models.negotiation import (
    Agreement,
    AgreementVersion,
    BidRound,
    Feedback,
    FeedbackReceipt,
    Offer,
    OfferEvent,
    Opinion,
    PackageIssue,
    PackageRating,
    SealedBid,
    Signature,
)
from server.models.sessions import (
    MediationSession,
    Participant,
    ParticipantKind,
    SessionStatus,
    TranscriptLine,
)
from server.models.staff import Role, User
from server.models.translation import GlossaryEntry

__all__ = [
    "Agreement",
    "AgreementVersion",
    "Base",
    "BidRound",
    "Case",
    "CaseEvent",
    "CaseStatus",
    "EvidenceItem",
    "EvidenceStatus",
    "Feedback",
    "FeedbackReceipt",
    "GlossaryEntry",
    "MediationSession",
    "Offer",
    "OfferEvent",
    "Opinion",
    "OutboxMail",
    "PackageIssue",
    "PackageRating",
    "Participant",
    "ParticipantKind",
    "Party",
    "PartyRole",
    "ReferenceCounter",
    "Role",
    "SealedBid",
    "SessionStatus",
    "Signature",
    "TranscriptLine",
    "User",
    "utcnow",
]
