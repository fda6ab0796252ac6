"""Staff accounts: administrators, case officers, mediators and interpreters."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base, Timestamped, str_enum


class Role(enum.StrEnum):
    """What a staff member is allowed to do (see server/permissions.py)."""

    ADMIN = "admin"
    CASE_OFFICER = "case_officer"
    MEDIATOR = "mediator"
    INTERPRETER = "interpreter"


class User(Timestamped, Base):
    """A staff member who signs in with e-mail and password."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[Role] = mapped_column(str_enum(Role), nullable=False)
    language: Mapped[str] = mapped_column(String(10), default="en", nullable=False)
    languages: Mapped[str] = mapped_column(String(100), default="", nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    # bumped on logout-everywhere, password change or role change, so that
    # every cookie and room token issued before becomes invalid at once
    token_version: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
