"""Errors of the negotiation domain; each carries a stable code for clients.

NegotiationError
 ├── NotAllowed     the actor may not take this step (not a party, not the author)
 ├── IllegalMove    the state refuses the step (accepting a withdrawn offer)
 └── InvalidTerms   the terms, rule, figure or ratings are malformed
"""

from __future__ import annotations


class NegotiationError(Exception):
    """Base of the negotiation errors; ``code`` is stable, ``message`` is for humans."""

    code = "negotiation_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotAllowed(NegotiationError):
    """Raised when the actor's role or side may not take this step."""

    code = "not_allowed"


class IllegalMove(NegotiationError):
    """Raised when the current state of an offer or bid round refuses the step."""

    code = "illegal_move"


class InvalidTerms(NegotiationError):
    """Raised when terms, a bidding rule, a figure or ratings are malformed."""

    code = "invalid_terms"
