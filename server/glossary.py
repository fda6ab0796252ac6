"""Glossary terms kept in the database, fed to the translation pipeline.

Server-wide terms (``case_id`` None) apply to every case; a case's own term
for the same phrase overrides the server's. The pipeline asks for the terms
of one case and direction before each translation (`DatabaseGlossary`), so
a term added on one worker applies on every worker at once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select

from server.db import Database
from server.errors import Conflict, InvalidInput, NotFound
from server.models import GlossaryEntry
from translation import GlossaryTerm, InMemoryGlossary, is_language_tag, model_code

logger = logging.getLogger(__name__)


class DatabaseGlossary:
    """A `translation.GlossaryProvider` reading `GlossaryEntry` rows."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def terms(
        self, case_id: str | None, source: str, target: str
    ) -> Sequence[GlossaryTerm]:
        """Server terms overridden by the case's own, for one direction."""
        query = select(GlossaryEntry).where(GlossaryEntry.source == source)
        case = int(case_id) if case_id is not None and case_id.isdigit() else None
        if case is None:
            query = query.where(GlossaryEntry.case_id.is_(None))
        else:
            query = query.where(
                or_(GlossaryEntry.case_id.is_(None), GlossaryEntry.case_id == case)
            )
        async with self.db.read() as db:
            rows = list((await db.execute(query.order_by(GlossaryEntry.id))).scalars())
        # the in-memory glossary owns the layering rules: case over server,
        # a rendering for this exact target over one for every target
        layered = InMemoryGlossary()
        for row in rows:
            layered.add(
                _term_of(row), None if row.case_id is None else str(row.case_id)
            )
        return await layered.terms(None if case is None else str(case), source, target)


def _term_of(row: GlossaryEntry) -> GlossaryTerm:
    return GlossaryTerm(row.source, row.term, row.rendering, row.target)


def entry_dict(row: GlossaryEntry) -> dict[str, Any]:
    """The JSON form of one term."""
    return {
        "id": row.id,
        "case_id": row.case_id,
        "source": row.source,
        "target": row.target,
        "term": row.term,
        "rendering": row.rendering,
        "keep": row.rendering is None,
        "created_by": row.created_by,
        "created_at": row.created_at.isoformat(),
    }


def language_field(value: str | None, field: str) -> str | None:
    """A declared language as a model code, refusing what is not a tag."""
    if value is None:
        return None
    if not is_language_tag(value):
        raise InvalidInput(
            f"{field}: expected a language such as en or zh-CN, got {value!r}.",
            code="invalid_language",
            field=field,
        )
    return model_code(value)


async def list_terms(db: Any, case_id: int | None) -> list[GlossaryEntry]:
    """The terms of one case, or the server-wide ones, oldest first."""
    query = select(GlossaryEntry).order_by(GlossaryEntry.id)
    if case_id is None:
        query = query.where(GlossaryEntry.case_id.is_(None))
    else:
        query = query.where(GlossaryEntry.case_id == case_id)
    return list((await db.execute(query)).scalars())


async def add_term(
    db: Any,
    *,
    case_id: int | None,
    source: str,
    target: str | None,
    term: str,
    rendering: str | None,
    actor: str,
) -> GlossaryEntry:
    """Store a term; the same phrase twice for one case and direction is refused."""
    term = term.strip()
    if not term:
        raise InvalidInput(
            "term: expected a phrase, got blank text.",
            code="invalid_term",
            field="term",
        )
    if rendering is not None and not rendering.strip():
        raise InvalidInput(
            "rendering: expected a rendering, or null to keep the term as written.",
            code="invalid_term",
            field="rendering",
        )
    source_code = language_field(source, "source")
    assert source_code is not None
    target_code = language_field(target, "target")
    for row in await list_terms(db, case_id):
        same = row.term.casefold() == term.casefold()
        if same and row.source == source_code and row.target == target_code:
            raise Conflict(
                f"The glossary already has {term!r} for this direction (#{row.id}).",
                code="term_exists",
            )
    row = GlossaryEntry(
        case_id=case_id,
        source=source_code,
        target=target_code,
        term=term,
        rendering=rendering.strip() if rendering is not None else None,
        created_by=actor,
    )
    db.add(row)
    await db.flush()
    logger.info(
        "glossary term %s added (case %s, %s>%s) by %s",
        row.id,
        case_id,
        source_code,
        target_code or "*",
        actor,
    )
    return row


async def delete_term(db: Any, term_id: int, case_id: int | None, actor: str) -> None:
    """Remove a term of this case (or a server-wide one when ``case_id`` is None)."""
    row = await db.get(GlossaryEntry, term_id)
    if row is None or row.case_id != case_id:
        raise NotFound("No such glossary term.", code="term_not_found")
    await db.delete(row)
    logger.info("glossary term %s removed (case %s) by %s", term_id, case_id, actor)
