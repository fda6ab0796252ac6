"""Glossary terms for machine translation: server-wide and per case."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base, Timestamped


class GlossaryEntry(Timestamped, Base):
    """A phrase that must be rendered a fixed way, or kept as written.

    ``case_id`` None makes it a server-wide term; a case's own term for the
    same phrase wins over it. Languages are model codes (``zh``, ``en``).
    """

    __tablename__ = "glossary_terms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(10), nullable=False)
    # None: the rendering applies whatever the target language
    target: Mapped[str | None] = mapped_column(String(10))
    term: Mapped[str] = mapped_column(String(200), nullable=False)
    # None: the term is kept exactly as written (a name, a product)
    rendering: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(60), nullable=False)
