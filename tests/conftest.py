"""Shared fixtures: settings on SQLite and PostgreSQL, the app, a live server.

Database-backed tests run twice, on a SQLite file and on the PostgreSQL
server named by ACCORD_TEST_POSTGRES_URL (default: the local ``test``
database). Where that server is unreachable the PostgreSQL half is skipped
with a message, unless ACCORD_TEST_REQUIRE_SERVICES=1 (set by .ci/run),
which turns the skip into a failure so CI can never skip it silently.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from server.settings import Settings, load_settings

POSTGRES_URL = os.environ.get(
    "ACCORD_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("ACCORD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_SERVICES = os.environ.get("ACCORD_TEST_REQUIRE_SERVICES") == "1"
TEST_SECRET = "test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"


def unavailable(what: str, how: str) -> None:
    """Skip (or, under CI, fail) a test whose real service is missing."""
    message = f"{what} is unavailable: {how}"
    if REQUIRE_SERVICES:
        pytest.fail(message + " (ACCORD_TEST_REQUIRE_SERVICES=1 forbids skipping)")
    pytest.skip(message)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tcp_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


# -- databases ---------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test."""
    from server.migrate import upgrade

    path = tmp_path_factory.mktemp("db") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


class PostgresDatabase:
    """A throwaway database on the test PostgreSQL server."""

    def __init__(self, admin_url: str) -> None:
        from sqlalchemy.engine import make_url

        self.admin = make_url(admin_url)
        self.name = f"accord_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.url = self.admin.set(database=self.name).render_as_string(
            hide_password=False
        )

    def _run(self, statement: str) -> None:
        import asyncpg

        async def go() -> None:
            conn = await asyncpg.connect(
                host=self.admin.host or "127.0.0.1",
                port=self.admin.port or 5432,
                user=self.admin.username or "postgres",
                password=self.admin.password,
                database=self.admin.database or "postgres",
            )
            try:
                await conn.execute(statement)
            finally:
                await conn.close()

        asyncio.run(go())

    def create(self) -> None:
        from server.migrate import upgrade

        self._run(f'CREATE DATABASE "{self.name}"')
        upgrade(self.url)

    def drop(self) -> None:
        self._run(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[PostgresDatabase | None]:
    """One migrated PostgreSQL database for the session, emptied between tests."""
    from sqlalchemy.engine import make_url

    url = make_url(POSTGRES_URL)
    if not _tcp_open(url.host or "127.0.0.1", url.port or 5432):
        yield None
        return
    database = PostgresDatabase(POSTGRES_URL)
    database.create()
    yield database
    database.drop()


async def _truncate_postgres(url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from server.models import Base

    engine = create_async_engine(url)
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    postgres_database: PostgresDatabase | None,
) -> str:
    """A migrated, empty database: a SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "accord.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    if postgres_database is None:
        unavailable(
            "PostgreSQL",
            f"nothing listens at {POSTGRES_URL}; start it or set "
            "ACCORD_TEST_POSTGRES_URL",
        )
        raise AssertionError("unreachable")
    await _truncate_postgres(postgres_database.url)
    return postgres_database.url


@pytest.fixture
async def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty SQLite database only (for tests that need one backend)."""
    path = tmp_path / "accord.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def redis_url() -> str:
    """The test Redis server; skipped (or failed under CI) when absent."""
    from urllib.parse import urlparse

    parsed = urlparse(REDIS_URL)
    if not _tcp_open(parsed.hostname or "127.0.0.1", parsed.port or 6379):
        unavailable("Redis", f"nothing listens at {REDIS_URL}; start redis-server")
    return REDIS_URL


# -- settings and the app ----------------------------------------------------


def make_settings(database_url: str, tmp_path: Path, **env: str) -> Settings:
    """Settings for one test: its own data directory and a fixed secret."""
    base = {
        "ACCORD_DATABASE_URL": database_url,
        "ACCORD_DATA_DIR": str(tmp_path / "data"),
        "ACCORD_SECRET_KEY": TEST_SECRET,
        "ACCORD_PUBLIC_URL": "http://127.0.0.1:8000",
    }
    base.update(env)
    return load_settings(base)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings on the parametrised database."""
    return make_settings(database_url, tmp_path)


class RunningApp:
    """An app whose lifespan has started, with an HTTP client bound to it."""

    def __init__(self, asgi: Any) -> None:
        self.asgi = asgi
        self.services = asgi.services
        self.starlette = asgi.starlette

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        """A client that talks to the app in-process."""
        transport = httpx.ASGITransport(app=self.asgi)
        return httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1:8000", **kwargs
        )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[RunningApp]:
    """The application with its lifespan running."""
    from server.app import create_app

    asgi = create_app(settings)
    running = RunningApp(asgi)
    async with running.starlette.router.lifespan_context(running.starlette):
        yield running


@pytest.fixture
async def client(app: RunningApp) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the app."""
    async with app.client() as c:
        yield c


class LiveServer:
    """Uvicorn serving the app on a free loopback port, in this event loop."""

    def __init__(self, asgi: Any, port: int) -> None:
        self.asgi = asgi
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.services = asgi.services
        config = uvicorn.Config(
            asgi,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            ws_per_message_deflate=False,
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve())
        for _ in range(200):
            if self.server.started:
                return
            await asyncio.sleep(0.02)
        raise RuntimeError("uvicorn did not start within 4 s")

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await asyncio.wait_for(self.task, timeout=10)


async def start_live_server(settings: Settings) -> LiveServer:
    """Build the app from settings and serve it on a free port."""
    from server.app import create_app

    port = free_port()
    settings = settings.with_overrides(
        public_url=f"http://127.0.0.1:{port}",
    )
    live = LiveServer(create_app(settings), port)
    await live.start()
    return live


@pytest.fixture
async def live_server(settings: Settings) -> AsyncIterator[LiveServer]:
    """The app served over real HTTP and WebSocket on 127.0.0.1."""
    live = await start_live_server(settings)
    yield live
    await live.stop()
