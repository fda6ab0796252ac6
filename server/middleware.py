"""ASGI middleware: security headers, Origin allowlist, caller resolution."""

from __future__ import annotations

import logging

from sqlalchemy import select
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.auth import (
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    PARTY_COOKIE,
    PARTY_LINK_MAX_AGE,
    STAFF_COOKIE,
    STAFF_SESSION_MAX_AGE,
    Caller,
    csrf_matches,
)
from server.errors import NotAuthenticated, PermissionDenied
from server.models import Party, User
from server.services import Services

logger = logging.getLogger(__name__)

CSP = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self' ws: wss:",
        "style-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    # party links carry their token in the URL: never send it onwards
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(self), microphone=(self), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class SecurityHeaders:
    """Adds the security headers to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [
                    (name, value)
                    for name, value in SECURITY_HEADERS
                    if name not in present
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def resolve_caller(request: Request, services: Services) -> Caller:
    """Who sent this request: a signed-in staff member, a party, or nobody."""
    signer = services.signer
    staff_token = request.cookies.get(STAFF_COOKIE)
    if staff_token:
        try:
            data = signer.unsign("staff", staff_token, STAFF_SESSION_MAX_AGE)
        except NotAuthenticated:
            data = None
        if data:
            async with services.db.read() as session:
                user = await session.get(User, int(data.get("u", 0)))
            if user and user.active and user.token_version == data.get("v"):
                return Caller(user=user)

    party_token = _bearer(request) or request.cookies.get(PARTY_COOKIE)
    if party_token:
        try:
            data = signer.unsign("party", party_token, PARTY_LINK_MAX_AGE)
        except NotAuthenticated:
            data = None
        if data:
            async with services.db.read() as session:
                party = (
                    await session.execute(
                        select(Party).where(Party.id == int(data.get("p", 0)))
                    )
                ).scalar_one_or_none()
            if (
                party is not None
                and party.case_id == data.get("c")
                and party.link_version == data.get("v")
            ):
                return Caller(party=party)
    return Caller()


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


async def check_request_origin(request: Request, services: Services) -> None:
    """Refuse a state-changing request from an origin not on the allowlist."""
    if request.method not in UNSAFE_METHODS:
        return
    origin = request.headers.get("origin")
    if origin is not None and origin not in services.settings.origins:
        logger.warning(
            "refused %s %s from origin %r", request.method, request.url.path, origin
        )
        raise PermissionDenied(
            f"Requests from {origin!r} are not accepted; the allowed origins "
            f"are {', '.join(services.settings.origins)}.",
            code="origin_not_allowed",
        )


async def check_csrf(request: Request, form_token: str | None = None) -> None:
    """Double-submit check for cookie-authenticated state changes."""
    if request.method not in UNSAFE_METHODS:
        return
    if _bearer(request) is not None:
        return  # a bearer token is never sent by the browser on its own
    if not (request.cookies.get(STAFF_COOKIE) or request.cookies.get(PARTY_COOKIE)):
        return  # no ambient credential to abuse
    presented = request.headers.get(CSRF_HEADER) or form_token
    if not csrf_matches(request.cookies.get(CSRF_COOKIE), presented):
        raise PermissionDenied(
            "The form's security token is missing or stale; reload the page "
            "and try again.",
            code="csrf_failed",
        )


def form_csrf_field() -> str:
    """The name of the hidden form field that carries the CSRF token."""
    return CSRF_FIELD


def header_value(scope: Scope, name: str) -> str | None:
    """One request header from an ASGI scope."""
    return Headers(scope=scope).get(name)
