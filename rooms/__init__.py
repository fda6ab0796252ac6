"""The live mediation hub: sessions, lobby, joint room, caucuses, chat."""

from rooms.errors import RoomAuthError, RoomDenied, RoomError, RoomInvalid
from rooms.events import (
    ALL_KINDS,
    ANYWHERE,
    IN_ROOM,
    MEDIATORS,
    SPEAKERS,
    Allow,
    EventContext,
    EventRegistry,
    EventSpec,
    IdempotentPayload,
    Payload,
    RoomLimits,
)
from rooms.hub import NAMESPACE, RoomHub
from rooms.metrics import RoomMetrics
from rooms.model import (
    JOINT,
    LOBBY,
    Line,
    LineSpec,
    Seat,
    SeatKind,
    SessionState,
    Visibility,
)
from rooms.ports import (
    Claims,
    EvidenceInfo,
    LineObserver,
    MediaRouter,
    Presence,
    RoomStore,
    RoomTx,
    TokenVerifier,
)
from rooms.presence import MemoryPresence
from rooms.visibility import delivers_live, may_see, project

__all__ = [
    "ALL_KINDS",
    "ANYWHERE",
    "IN_ROOM",
    "JOINT",
    "LOBBY",
    "MEDIATORS",
    "NAMESPACE",
    "SPEAKERS",
    "Allow",
    "Claims",
    "EventContext",
    "EventRegistry",
    "EventSpec",
    "EvidenceInfo",
    "IdempotentPayload",
    "Line",
    "LineObserver",
    "LineSpec",
    "MediaRouter",
    "MemoryPresence",
    "Payload",
    "Presence",
    "RoomAuthError",
    "RoomDenied",
    "RoomError",
    "RoomHub",
    "RoomInvalid",
    "RoomLimits",
    "RoomMetrics",
    "RoomStore",
    "RoomTx",
    "Seat",
    "SeatKind",
    "SessionState",
    "TokenVerifier",
    "Visibility",
    "delivers_live",
    "may_see",
    "project",
]
