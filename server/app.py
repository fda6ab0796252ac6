"""The application factory: builds the services, the routes and the ASGI app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import socketio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from rooms.fanout import install_eager_task_factory, make_client_manager
from server import __version__
from server.api import api_routes
from server.api.base import error_response
from server.api.openapi import build_openapi
from server.auth import Signer
from server.db import Database
from server.errors import DomainError
from server.middleware import SecurityHeaders
from server.pages import page_routes
from server.realtime import metrics_endpoint
from server.services import Services
from server.settings import Settings, ensure_secret_key, load_settings

logger = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


def build_services(settings: Settings) -> Services:
    """Create the process's services from the settings (nothing started yet)."""
    settings = ensure_secret_key(settings)
    redis_client = None
    if settings.redis_url:
        from redis.asyncio import Redis

        redis_client = Redis.from_url(settings.redis_url, decode_responses=False)
    # inline fan-out: no asyncio task per recipient of a broadcast (rooms/fanout.py)
    client_manager = make_client_manager(
        settings.redis_url,
        logger,
        channel=f"{settings.rooms.redis_prefix}-socketio",
    )
    sio = socketio.AsyncServer(
        async_mode="asgi",
        client_manager=client_manager,
        cors_allowed_origins=list(settings.origins),
        max_http_buffer_size=64 * 1024,
        logger=False,
        engineio_logger=False,
    )
    return Services(
        settings=settings,
        db=Database.from_settings(settings.database),
        signer=Signer(settings.secret_key),
        sio=sio,
        redis=redis_client,
    )


async def healthz(request: Request) -> Response:
    """Alive: the process answers."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready: the database and, when configured, Redis answer."""
    services: Services = request.app.state.services
    checks: dict[str, str] = {}
    ok = True
    try:
        await services.db.ping()
        checks["database"] = "ok"
    except Exception as exc:  # report any driver failure, never raise
        logger.warning("readiness: database unreachable: %s", type(exc).__name__)
        checks["database"] = "unreachable"
        ok = False
    if services.redis is not None:
        try:
            await services.redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            logger.warning("readiness: redis unreachable: %s", type(exc).__name__)
            checks["redis"] = "unreachable"
            ok = False
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks},
        status_code=200 if ok else 503,
    )


async def openapi(request: Request) -> Response:
    """The OpenAPI description of the JSON API, built from the routes."""
    return JSONResponse(build_openapi(request.app.routes, __version__))


async def domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    logger.info("refused %s %s: %s", request.method, request.url.path, exc.code)
    return error_response(exc)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(
        exc.status_code, "http_error"
    )
    return JSONResponse(
        {"error": {"code": code, "message": str(exc.detail)}},
        status_code=exc.status_code,
    )


async def server_error(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(
        {
            "error": {
                "code": "internal_error",
                "message": "The server failed to handle this request.",
            }
        },
        status_code=500,
    )


def build_routes() -> list[BaseRoute]:
    """Every HTTP route of the application."""
    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Mount("/api", routes=api_routes()),
        Mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static"),
        *page_routes(),
    ]


def create_app(settings: Settings | None = None) -> Any:
    """Build the ASGI application: Socket.IO outermost, Starlette inside."""
    services = build_services(settings or load_settings())

    from server.mailer import install_mailer
    from server.realtime import install_realtime

    install_realtime(services)
    install_mailer(services)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Python 3.12+: a broadcast's writers wake once per burst, not per packet
        install_eager_task_factory()
        started = []
        try:
            for hook in services.on_start:
                await hook()
                started.append(hook)
            logger.info(
                "accord started (database %s, redis %s)",
                services.db.engine.dialect.name,
                "on" if services.redis is not None else "off",
            )
            yield
        finally:
            for hook in reversed(services.on_stop):
                try:
                    await hook()
                except Exception:
                    logger.exception("a shutdown step failed")
            manager_close = getattr(services.sio.manager, "aclose", None)
            if manager_close is not None:
                await manager_close()
            if services.redis is not None:
                await services.redis.aclose()
            await services.db.dispose()

    app = Starlette(
        routes=build_routes(),
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={
            DomainError: domain_error,
            HTTPException: http_error,
            Exception: server_error,
        },
        lifespan=lifespan,
    )
    app.state.services = services
    asgi = socketio.ASGIApp(services.sio, other_asgi_app=app, socketio_path="socket.io")
    asgi.services = services
    asgi.starlette = app
    return asgi
