"""Who is calling: staff sessions, party links, CSRF tokens, password hashes."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from server.errors import NotAuthenticated
from server.models import Party, Role, User

STAFF_COOKIE = "accord_staff"
PARTY_COOKIE = "accord_party"
CSRF_COOKIE = "accord_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"

STAFF_SESSION_MAX_AGE = 12 * 3600
PARTY_LINK_MAX_AGE = 60 * 24 * 3600

_hasher = PasswordHasher()

# a valid hash to verify against when the e-mail is unknown, so that a wrong
# address and a wrong password take the same time
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; always spends one hash's time."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(
            password_hash
        )
    except (VerificationError, InvalidHashError):
        return False


class Signer:
    """Signs and checks the purpose-bound tokens Accord hands out."""

    def __init__(self, secret_key: str) -> None:
        self._secret = secret_key

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self._secret, salt=f"accord:{purpose}")

    def sign(self, purpose: str, data: dict[str, Any]) -> str:
        """A URL-safe token carrying ``data``, valid only for ``purpose``."""
        return self._serializer(purpose).dumps(data)

    def unsign(self, purpose: str, token: str, max_age: int) -> dict[str, Any]:
        """The data in a token, or NotAuthenticated if forged or expired."""
        try:
            data = self._serializer(purpose).loads(token, max_age=max_age)
        except SignatureExpired:
            raise NotAuthenticated(
                "This link or session has expired; ask for a new one.",
                code="token_expired",
            ) from None
        except BadSignature:
            raise NotAuthenticated(
                "This link or session is not valid.", code="token_invalid"
            ) from None
        if not isinstance(data, dict):
            raise NotAuthenticated("This token is not valid.", code="token_invalid")
        return data

    def staff_session(self, user: User) -> str:
        """The cookie value for a signed-in staff member."""
        return self.sign("staff", {"u": user.id, "v": user.token_version})

    def party_link(self, party: Party) -> str:
        """The token in a party's personal link to their case."""
        return self.sign(
            "party", {"c": party.case_id, "p": party.id, "v": party.link_version}
        )


def new_csrf_token() -> str:
    """A random token for the double-submit CSRF cookie."""
    return secrets.token_urlsafe(24)


def csrf_matches(cookie: str | None, presented: str | None) -> bool:
    """True when the presented token equals the cookie, compared in constant time."""
    if not cookie or not presented:
        return False
    return hmac.compare_digest(cookie.encode(), presented.encode())


@dataclass(frozen=True)
class Caller:
    """The authenticated caller of a request: a staff member, a party or nobody."""

    user: User | None = None
    party: Party | None = None

    @property
    def kind(self) -> str:
        """The caller's key in the permission table."""
        if self.user is not None:
            return str(self.user.role)
        if self.party is not None:
            return "party"
        return "public"

    @property
    def role(self) -> Role | None:
        return self.user.role if self.user is not None else None

    @property
    def actor(self) -> str:
        """How the caller is named in the case event log (never by name)."""
        if self.user is not None:
            return f"user:{self.user.id}"
        if self.party is not None:
            return f"party:{self.party.id}"
        return "public"

    @property
    def is_staff(self) -> bool:
        return self.user is not None
