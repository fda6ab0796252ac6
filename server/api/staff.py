"""Staff sign-in and sign-out, and the administrator's user management."""

from __future__ import annotations

import logging

from pydantic import BaseModel, EmailStr, Field
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import JSONResponse

from server.api.base import endpoint
from server.auth import (
    CSRF_COOKIE,
    STAFF_COOKIE,
    STAFF_SESSION_MAX_AGE,
    Caller,
    hash_password,
    new_csrf_token,
    verify_password,
)
from server.errors import Conflict, NotAuthenticated, TooManyRequests
from server.models import Role, User, utcnow
from server.services import Services
from server.throttle import Throttle

logger = logging.getLogger(__name__)


class LoginBody(BaseModel):
    email: EmailStr
    password: str = Field(min_length=1, max_length=200)


class StaffOut(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    language: str
    languages: list[str]
    active: bool


class UserCreate(BaseModel):
    email: EmailStr
    name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=10, max_length=200)
    role: Role
    language: str = Field(default="en", pattern=r"^(en|zh-CN)$")
    languages: list[str] = Field(default_factory=list, max_length=10)


def staff_out(user: User) -> StaffOut:
    return StaffOut(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        language=user.language,
        languages=[x for x in user.languages.split(",") if x],
        active=user.active,
    )


def _throttles(services: Services) -> tuple[Throttle, Throttle]:
    found = services.extras.get("login_throttles")
    if found is None:
        found = (
            Throttle("login-email", 5, 15 * 60, services.redis),
            Throttle("login-ip", 30, 15 * 60, services.redis),
        )
        services.extras["login_throttles"] = found
    return found


@endpoint(
    "/auth/login",
    "POST",
    action="auth.session",
    summary="Staff sign-in",
    body=LoginBody,
    response=StaffOut,
    tags=["auth"],
    csrf=False,
    errors=("invalid_credentials", "rate_limited"),
)
async def login(request: Request, caller: Caller, body: LoginBody) -> JSONResponse:
    """Check e-mail and password and set the httponly staff session cookie."""
    services: Services = request.app.state.services
    by_email, by_ip = _throttles(services)
    client_ip = request.client.host if request.client else "unknown"
    email = body.email.lower()
    if not (await by_email.hit(email)) or not (await by_ip.hit(client_ip)):
        logger.warning("sign-in throttled for ip %s", client_ip)
        raise TooManyRequests(
            "Too many sign-in attempts; wait 15 minutes and try again.",
            code="rate_limited",
        )

    async with services.db.write() as session:
        user = (
            await session.execute(select(User).where(func.lower(User.email) == email))
        ).scalar_one_or_none()
        ok = verify_password(user.password_hash if user else None, body.password)
        if user is None or not ok or not user.active:
            raise NotAuthenticated(
                "That e-mail and password do not match an active account.",
                code="invalid_credentials",
            )
        user.last_login_at = utcnow()

    await by_email.reset(email)
    logger.info("staff user %s signed in", user.id)
    response = JSONResponse(staff_out(user).model_dump(mode="json"))
    secure = services.settings.public_url.startswith("https://")
    response.set_cookie(
        STAFF_COOKIE,
        services.signer.staff_session(user),
        max_age=STAFF_SESSION_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )
    # a fresh CSRF token on every sign-in (no fixation across sessions)
    response.set_cookie(
        CSRF_COOKIE,
        new_csrf_token(),
        httponly=False,
        samesite="strict",
        secure=secure,
        path="/",
    )
    return response


@endpoint(
    "/auth/logout", "POST", action="auth.session", summary="Sign out", tags=["auth"]
)
async def logout(request: Request, caller: Caller) -> JSONResponse:
    """Clear the session cookie; ``?everywhere=1`` also revokes other sessions."""
    services: Services = request.app.state.services
    if caller.user is not None and request.query_params.get("everywhere"):
        async with services.db.write() as session:
            user = await session.get(User, caller.user.id)
            if user is not None:
                user.token_version += 1
    response = JSONResponse({"status": "signed_out"})
    response.delete_cookie(STAFF_COOKIE, path="/")
    return response


@endpoint(
    "/auth/me",
    "GET",
    action="user.me",
    summary="Who am I",
    response=StaffOut,
    tags=["auth"],
)
async def me(request: Request, caller: Caller) -> StaffOut:
    """The signed-in staff member."""
    assert caller.user is not None
    return staff_out(caller.user)


@endpoint("/users", "GET", action="user.list", summary="List staff", tags=["users"])
async def list_users(request: Request, caller: Caller) -> list[StaffOut]:
    """Every staff account, optionally filtered by ``?role=``."""
    services: Services = request.app.state.services
    query = select(User).order_by(User.id)
    if role := request.query_params.get("role"):
        query = query.where(User.role == Role(role))
    async with services.db.read() as session:
        users = list((await session.execute(query)).scalars())
    return [staff_out(u) for u in users]


@endpoint(
    "/users",
    "POST",
    action="user.create",
    summary="Create a staff account",
    body=UserCreate,
    response=StaffOut,
    status=201,
    tags=["users"],
    errors=("email_taken",),
)
async def create_user_endpoint(
    request: Request, caller: Caller, body: UserCreate
) -> StaffOut:
    """Create a staff account (administrators only)."""
    services: Services = request.app.state.services
    user = await create_user(services, body)
    return staff_out(user)


async def create_user(services: Services, body: UserCreate) -> User:
    """Create a staff account; refuses an e-mail already in use."""
    async with services.db.write() as session:
        exists = (
            await session.execute(
                select(User.id).where(func.lower(User.email) == body.email.lower())
            )
        ).first()
        if exists:
            raise Conflict(
                f"An account for {body.email} exists already.",
                code="email_taken",
                field="email",
            )
        user = User(
            email=body.email.lower(),
            name=body.name,
            password_hash=hash_password(body.password),
            role=body.role,
            language=body.language,
            languages=",".join(body.languages),
        )
        session.add(user)
        await session.flush()
    logger.info("staff user %s created with role %s", user.id, user.role)
    return user


routes = [login, logout, me, list_users, create_user_endpoint]
