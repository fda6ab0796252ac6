"""The one-hop SQLite driver: same results as aiosqlite, fewer thread crossings."""

from __future__ import annotations

import inspect
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import Integer, String, insert, select, text
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_cursor
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from server import sqlite_driver
from server.db import Database, create_engine
from server.settings import DatabaseSettings


class _Base(DeclarativeBase):
    pass


class Note(_Base):
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(20), unique=True)
    body: Mapped[str] = mapped_column(String(200))


def test_the_aiosqlite_names_it_relies_on_are_still_there() -> None:
    # RELIED_ON in server/sqlite_driver.py, checked against the installed code
    assert inspect.iscoroutinefunction(aiosqlite.Connection._execute)
    assert isinstance(aiosqlite.Connection.__dict__["_conn"], property)
    assert "_make_new_cursor" in AsyncAdapt_dbapi_cursor.__dict__
    source = inspect.getsource(AsyncAdapt_dbapi_cursor)
    assert "self._make_new_cursor(self._connection)" in source


async def test_sqlite_urls_use_it_and_it_reads_writes_and_refuses_like_aiosqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path}/x.db"))
    assert engine.dialect.driver == "accord_aiosqlite"
    db = Database(engine)
    crossings = 0
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: object, *a: object) -> object:
        nonlocal crossings
        crossings += 1
        return await original(self, fn, *a)

    try:
        async with engine.begin() as conn:
            await conn.run_sync(_Base.metadata.create_all)

        # ORM insert with a generated key, then Core multi-row insert
        async with db.write() as session:
            note = Note(key="a", body="first")
            session.add(note)
            await session.flush()
            assert note.id == 1
            await session.execute(
                insert(Note), [{"key": f"k{n}", "body": f"body {n}"} for n in range(5)]
            )

        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
        async with db.read() as session:
            rows = (await session.execute(select(Note).order_by(Note.id))).scalars()
            assert [(n.id, n.key) for n in rows] == [(1, "a")] + [
                (n + 2, f"k{n}") for n in range(5)
            ]
        # begin, one select, rollback: one crossing each, not four a statement
        assert crossings <= 4, crossings

        # a constraint violation surfaces as SQLAlchemy's error and rolls back
        with pytest.raises(IntegrityError):
            async with db.write() as session:
                session.add(Note(key="z", body="kept?"))
                await session.flush()
                session.add(Note(key="a", body="duplicate"))
                await session.flush()
        async with db.read() as session:
            count = await session.scalar(text("SELECT count(*) FROM notes"))
            assert count == 6
    finally:
        await engine.dispose()


def test_the_dialect_is_registered_under_its_driver_name() -> None:
    from sqlalchemy.dialects import registry

    loaded = registry.load("sqlite.accord_aiosqlite")
    assert loaded is sqlite_driver.OneHopSQLiteDialect
