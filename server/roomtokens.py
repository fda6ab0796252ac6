"""Room join tokens: signed with the server key, bound to one seat, revocable."""

from __future__ import annotations

import time
from collections.abc import Callable

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
        async with self.db.read() as db:
            seat = await db.get(Participant, claims.participant_id)
            session = await db.get(MediationSession, claims.session_id)
            if (
                seat is None
                or session is None
                or seat.session_id != claims.session_id
                or session.case_id != claims.case_id
            ):
                raise RoomAuthError("This token is not valid.", code="token_invalid")
            revoked = (
                seat.token_version != claims.version
                or str(seat.kind) != claims.role
                or seat.removed
                or seat.denied
                or session.status == SessionStatus.ENDED
            )
            if not revoked and "lv" in extra and seat.party_id is not None:
                party = await db.get(Party, seat.party_id)
                revoked = party is None or party.link_version != extra["lv"]
            if not revoked and "uv" in extra and seat.user_id is not None:
                user = await db.get(User, seat.user_id)
                revoked = (
                    user is None or not user.active or user.token_version != extra["uv"]
                )
        if revoked:
            self._fresh.pop(claims.participant_id, None)
            raise RoomAuthError(
                "Your access to this session was withdrawn.", code="token_revoked"
            )
        self._fresh[claims.participant_id] = (now, claims.version)
