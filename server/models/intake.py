"""Intake bookkeeping: the per-year counter behind human case references."""

from __future__ import annotations

from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base


class ReferenceCounter(Base):
    """The last case number handed out in one year (ACC-<year>-<number>)."""

    __tablename__ = "reference_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, nullable=False)
