"""Media: the WebRTC router for room audio and video, the recorder, exports."""

from recording.config import MediaConfig
from recording.errors import (
    InvalidOffer,
    RecordingError,
    UnknownParticipant,
    UnsupportedAiortc,
)
from recording.router import (
    MediaRouter,
    MediaState,
    ParticipantStats,
    SlotsCallback,
    SpeakerCallback,
    StateCallback,
)
from recording.sdp import receive_only

__all__ = [
    "InvalidOffer",
    "MediaConfig",
    "MediaRouter",
    "MediaState",
    "ParticipantStats",
    "RecordingError",
    "SlotsCallback",
    "SpeakerCallback",
    "StateCallback",
    "UnknownParticipant",
    "UnsupportedAiortc",
    "receive_only",
]
