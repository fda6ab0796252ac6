"""The room hub's errors: each carries a stable code sent back in an error ack.

RoomError
 ├── RoomDenied        the caller may not do this here (role, placement, state)
 ├── RoomInvalid       the payload is malformed, oversized or names nothing real
 └── RoomAuthError     the token is missing, forged, expired or revoked
"""

from __future__ import annotations

from typing import Any


class RoomError(Exception):
    """An event the room refuses; ``code`` is stable, ``message`` is for people."""

    code = "room_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field
        self.details = details or {}

    def to_ack(self) -> dict[str, Any]:
        """The error acknowledgement sent to the client."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        if self.details:
            body["details"] = self.details
        return {"ok": False, "error": body}


class RoomDenied(RoomError):
    """Raised when the role, placement or session state forbids the event."""

    code = "forbidden"


class RoomInvalid(RoomError):
    """Raised when a payload is malformed or refers to something that is not there."""

    code = "invalid_input"


class RoomAuthError(RoomError):
    """Raised when a join token is missing, forged, expired or revoked."""

    code = "token_invalid"
