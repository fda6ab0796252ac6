"""Exceptions raised by the media router.

RecordingError
 ├── UnsupportedAiortc      the installed aiortc is not the version the shim knows
 ├── InvalidOffer           an SDP offer that cannot be answered
 └── UnknownParticipant     a call names a participant the router has never seen

Peer failures after an answer has been given (ICE, DTLS, a track that dies)
are never raised: they are reported through the router's state callback.
"""

from __future__ import annotations


class RecordingError(Exception):
    """Base of every error the recording package raises on purpose."""

    code = "media_error"


class UnsupportedAiortc(RecordingError):
    """Raised when aiortc's version or internals differ from what the shim needs."""

    code = "media_unavailable"


class InvalidOffer(RecordingError):
    """Raised when a participant's SDP offer is malformed or has no usable media."""

    code = "media_invalid_offer"


class UnknownParticipant(RecordingError):
    """Raised when a call names a participant the router holds no state for."""

    code = "media_unknown_participant"
