"""The declarative base shared by every table."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import DateTime, Enum, MetaData
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# stable constraint names, so that Alembic migrations are the same on SQLite
# and PostgreSQL and batch mode can find what it alters
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class Base(AsyncAttrs, DeclarativeBase):
    """Base class of all Accord tables."""

    metadata = MetaData(naming_convention=NAMING)


class Timestamped:
    """Adds a creation time."""

    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, nullable=False
    )


def str_enum(kind: type[enum.StrEnum]) -> Enum:
    """A portable column type that stores a StrEnum by its value."""
    return Enum(
        kind,
        native_enum=False,
        length=24,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
