"""The database engine and the two kinds of unit of work: read and write."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from server.settings import DatabaseSettings

logger = logging.getLogger(__name__)

_READ_ONLY = "accord_read_only"


def _prepare_sqlite(engine: AsyncEngine) -> None:
    """WAL, a busy timeout and BEGIN IMMEDIATE for writes (notes/stack.md §4)."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # take transaction control away from the driver so that the begin
        # hook below decides between DEFERRED and IMMEDIATE
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # a read-then-write transaction that starts DEFERRED cannot upgrade
        # its lock under contention; IMMEDIATE takes the write lock up front
        if connection.get_execution_options().get(_READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(settings: DatabaseSettings) -> AsyncEngine:
    """Create the process's one engine for the configured database."""
    url = make_url(settings.url)
    if url.drivername == "sqlite+aiosqlite":
        from server import sqlite_driver

        # the same driver, one thread hop per statement (server/sqlite_driver.py)
        url = url.set(drivername=sqlite_driver.DRIVER)
    kwargs: dict[str, Any] = {"echo": settings.echo}
    if url.get_backend_name() != "sqlite":
        # a server restart leaves dead pooled connections; a SQLite file has
        # none, and the ping would cost a round trip on every unit of work
        kwargs["pool_pre_ping"] = True
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 10}
    engine = create_async_engine(url, **kwargs)
    if url.get_backend_name() == "sqlite":
        _prepare_sqlite(engine)
    return engine


class Database:
    """Hands out sessions: ``write()`` for changes, ``read()`` for queries."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._writer = async_sessionmaker(engine, expire_on_commit=False)
        self._reader = async_sessionmaker(
            engine.execution_options(**{_READ_ONLY: True}), expire_on_commit=False
        )

    @classmethod
    def from_settings(cls, settings: DatabaseSettings) -> Database:
        """Create the engine and wrap it."""
        return cls(create_engine(settings))

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A transaction that commits on success and rolls back on any error."""
        async with self._writer() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A transaction for queries only; it is rolled back at the end."""
        async with self._reader() as session, session.begin():
            yield session
            # detach first: a rollback expires every loaded object, and the
            # callers keep using what they read after the session closes
            session.expunge_all()
            await session.rollback()

    async def ping(self) -> None:
        """Raise if the database cannot run a trivial query."""
        async with self.read() as session:
            await session.execute(_select_one())

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def _select_one() -> Any:
    from sqlalchemy import text

    return text("SELECT 1")
