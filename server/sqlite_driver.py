"""SQLite through aiosqlite with one thread hop per statement.

SQLAlchemy's aiosqlite adapter crosses to aiosqlite's worker thread four
times for every statement: to create a cursor, to execute, to fetch and to
close. Each crossing is a queue put, a thread wake-up and a future resolved
back on the event loop, about 100 µs of CPU on the machines Accord is built
on, which made the hand-offs the largest cost of a room event (a chat line's
write transaction took 23 of them). This dialect keeps SQLAlchemy's adapter
and replaces only the cursor underneath it: one crossing runs the statement,
reads every row and closes the sqlite3 cursor.

``server.db.create_engine`` uses it for every ``sqlite+aiosqlite`` URL. It
relies on two names aiosqlite does not document (``RELIED_ON``);
tests/server/test_sqlite_driver.py fails if an upgrade moves them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)

DRIVER = "sqlite+accord_aiosqlite"

RELIED_ON = (
    "aiosqlite.Connection._execute(fn, *args) runs fn(*args) on the "
    "connection's worker thread and returns its result",
    "aiosqlite.Connection._conn is the sqlite3.Connection owned by that thread",
    "SQLAlchemy's AsyncAdapt_dbapi_cursor gets its driver cursor from "
    "_make_new_cursor(connection) and then uses only __aenter__, execute, "
    "executemany, fetchall, close, description, rowcount, lastrowid and arraysize",
)

Row = tuple[Any, ...]
Outcome = tuple[Any, list[Row], int, int | None]


def _run(
    connection: sqlite3.Connection, method: str, operation: str, parameters: Any
) -> Outcome:
    """On aiosqlite's thread: execute, read every row, close the cursor."""
    cursor = connection.cursor()
    try:
        run = getattr(cursor, method)
        if parameters is None:
            run(operation)
        else:
            run(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneHopCursor:
    """The driver-level cursor: each statement is one trip to the thread."""

    arraysize = 1

    def __init__(self, connection: Any) -> None:
        self._connection = connection  # an aiosqlite.Connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Row] = []

    async def __aenter__(self) -> OneHopCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._rows = []

    async def _call(self, method: str, operation: str, parameters: Any) -> None:
        outcome: Outcome = await self._connection._execute(
            _run, self._connection._conn, method, operation, parameters
        )
        self.description, self._rows, self.rowcount, self.lastrowid = outcome

    async def execute(self, operation: str, parameters: Any = None) -> OneHopCursor:
        await self._call("execute", operation, parameters)
        return self

    async def executemany(
        self, operation: str, seq_of_parameters: Sequence[Any]
    ) -> OneHopCursor:
        await self._call("executemany", operation, list(seq_of_parameters))
        return self

    async def fetchall(self) -> list[Row]:
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        self._rows = []


class _Cursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()

    def _make_new_cursor(self, connection: Any) -> Any:
        return OneHopCursor(connection)


class _Connection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    _cursor_cls = _Cursor


class _DBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        adapted = super().connect(*arg, **kw)
        return _Connection(self, adapted._connection)


class OneHopSQLiteDialect(SQLiteDialect_aiosqlite):
    """``sqlite+aiosqlite`` with a statement per thread hop."""

    driver = "accord_aiosqlite"
    supports_statement_cache = True
    # the one-hop cursor reads every row at once: no server-side cursors
    supports_server_side_cursors = False

    @classmethod
    def import_dbapi(cls) -> AsyncAdapt_aiosqlite_dbapi:
        return _DBAPI(__import__("aiosqlite"), __import__("sqlite3"))


registry.register("sqlite.accord_aiosqlite", __name__, "OneHopSQLiteDialect")
