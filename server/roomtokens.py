"""Room join tokens: signed with the server key, bound to one seat, revocable."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import select

from rooms import Claims, RoomAuthError
from server.auth import Signer
from server.db import Database
from server.errors import NotAuthenticated
from server.models import MediationSession, Participant, Party, SessionStatus, User

PURPOSE = "room"
RECHECK_CACHE_S = 1.0


class RoomTokens:
    """Issues join tokens and verifies them (implements rooms.TokenVerifier)."""

    def __init__(
        self,
        signer: Signer,
        db: Database,
        ttl_s: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.signer = signer
        self.db = db
        self.ttl_s = ttl_s
        self.clock = clock
        # participant id -> (checked at, claims version) for the ≤1 s cache
        self._fresh: dict[int, tuple[float, int]] = {}

    def issue(
        self,
        participant: Participant,
        case_id: int,
        *,
        party: Party | None = None,
        user: User | None = None,
    ) -> tuple[str, float]:
        """A token for this seat and its expiry (epoch seconds)."""
        expires = self.clock() + self.ttl_s
        data = {
            "c": case_id,
            "s": participant.session_id,
            "p": participant.id,
            "r": str(participant.kind),
            "v": participant.token_version,
            "e": expires,
        }
        if party is not None:
            data["lv"] = party.link_version
        if user is not None:
            data["uv"] = user.token_version
        return self.signer.sign(PURPOSE, data), expires

    async def verify(self, token: str) -> Claims:
        """The claims of a valid, unexpired, unrevoked token."""
        try:
            data = self.signer.unsign(PURPOSE, token, self.ttl_s)
        except NotAuthenticated as exc:
            raise RoomAuthError(exc.message, code=exc.code) from None
        try:
            claims = Claims(
                case_id=int(data["c"]),
                session_id=int(data["s"]),
                participant_id=int(data["p"]),
                role=str(data["r"]),
                expires_at=float(data["e"]),
                version=int(data["v"]),
                extra=tuple((k, int(data[k])) for k in ("lv", "uv") if k in data),
            )
        except (KeyError, TypeError, ValueError):
            raise RoomAuthError(
                "This token is not valid.", code="token_invalid"
            ) from None
        await self._check(claims)
        return claims

    async def recheck(self, claims: Claims) -> None:
        """Raise if revoked, expired or the role changed (cached for ≤1 s)."""
        now = self.clock()
        if now >= claims.expires_at:
            raise RoomAuthError("Your room token has expired.", code="token_expired")
        cached = self._fresh.get(claims.participant_id)
        if cached is not None and now - cached[0] < RECHECK_CACHE_S:
            if cached[1] == claims.version:
                return
        await self._check(claims)

    async def _check(self, claims: Claims) -> None:
        now = self.clock()
        if now >= claims.expires_at:
            raise RoomAuthError("Your room token has expired.", code="token_expired")
        extra = dict(claims.extra)
        # one query for the seat, its session, its party and its user: this
        # runs for nearly every event, so it must stay a single round trip
        query = (
            select(
                Participant.session_id,
                Participant.token_version,
                Participant.kind,
                Participant.removed,
                Participant.denied,
                Participant.party_id,
                Participant.user_id,
                MediationSession.case_id,
                MediationSession.status,
                Party.link_version,
                User.active,
                User.token_version.label("user_version"),
            )
            .join(MediationSession, MediationSession.id == Participant.session_id)
            .outerjoin(Party, Party.id == Participant.party_id)
            .outerjoin(User, User.id == Participant.user_id)
            .where(Participant.id == claims.participant_id)
        )
        async with self.db.read() as db:
            row = (await db.execute(query)).one_or_none()
        if (
            row is None
            or row.session_id != claims.session_id
            or row.case_id != claims.case_id
        ):
            raise RoomAuthError("This token is not valid.", code="token_invalid")
        revoked = (
            row.token_version != claims.version
            or str(row.kind) != claims.role
            or row.removed
            or row.denied
            or row.status == SessionStatus.ENDED
        )
        if not revoked and "lv" in extra and row.party_id is not None:
            revoked = row.link_version != extra["lv"]
        if not revoked and "uv" in extra and row.user_id is not None:
            revoked = not row.active or row.user_version != extra["uv"]
        if revoked:
            self._fresh.pop(claims.participant_id, None)
            raise RoomAuthError(
                "Your access to this session was withdrawn.", code="token_revoked"
            )
        self._fresh[claims.participant_id] = (now, claims.version)
