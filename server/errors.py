"""Accord's exceptions.

AccordError
 ├── ConfigurationError       a setting is missing or malformed
 └── DomainError              a request the case rules refuse (has a stable code)
      ├── NotFound
      ├── PermissionDenied
      ├── InvalidInput
      ├── Conflict
      ├── IllegalTransition
      ├── TooManyRequests
      └── Unavailable
"""

from __future__ import annotations

from typing import Any


class AccordError(Exception):
    """Base of every error Accord raises on purpose."""


class ConfigurationError(AccordError):
    """Raised when a setting or the environment is unusable."""


class DomainError(AccordError):
    """Raised when a request breaks a rule; carries a stable code for clients."""

    status = 400
    code = "bad_request"

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

    def to_dict(self) -> dict[str, Any]:
        """The JSON body the HTTP and socket edges send for this error."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        if self.details:
            body["details"] = self.details
        return {"error": body}


class NotFound(DomainError):
    """Raised when the thing asked for does not exist or is not visible."""

    status = 404
    code = "not_found"


class PermissionDenied(DomainError):
    """Raised when the caller's role may not perform the action."""

    status = 403
    code = "forbidden"


class NotAuthenticated(DomainError):
    """Raised when the caller must sign in or present a valid link first."""

    status = 401
    code = "not_authenticated"


class InvalidInput(DomainError):
    """Raised when a payload is malformed, oversized or of the wrong type."""

    status = 422
    code = "invalid_input"


class Conflict(DomainError):
    """Raised when the request clashes with the current state."""

    status = 409
    code = "conflict"


class IllegalTransition(Conflict):
    """Raised when a state machine refuses a move from its current state."""

    code = "illegal_transition"


class TooManyRequests(DomainError):
    """Raised when a caller exceeds a rate limit."""

    status = 429
    code = "rate_limited"


class Unavailable(DomainError):
    """Raised when an optional part of the server is not installed or not working."""

    status = 503
    code = "unavailable"
