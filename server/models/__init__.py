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
from server.models.sessions import (
    MediationSession,
    Participant,
    ParticipantKind,
    SessionStatus,
    TranscriptLine,
)
from server.models.staff import Role, User

__all__ = [
    "Base",
    "Case",
    "CaseEvent",
    "CaseStatus",
    "EvidenceItem",
    "EvidenceStatus",
    "MediationSession",
    "OutboxMail",
    "Participant",
    "ParticipantKind",
    "Party",
    "PartyRole",
    "ReferenceCounter",
    "Role",
    "SessionStatus",
    "TranscriptLine",
    "User",
    "utcnow",
]
