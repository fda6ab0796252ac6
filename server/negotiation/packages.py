"""Multi-issue package room actions: issues, private ratings, suggestion."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from rooms.negotiation import packages
from rooms.negotiation.lines import (
    JOINT,
    MEDIATOR,
    LineSpec,
    NegotiationActor,
    participant,
)
from server.errors import (
    IllegalTransition,
    InvalidInput,
    PermissionDenied,
)
from server.models import (
    PackageIssue,
    PackageRating,
)
from server.negotiation.common import (
    domain_errors,
    load_context,
    require_mediator,
)
from server.negotiation.offers import make_offer

logger = logging.getLogger(__name__)


async def _issues(db: AsyncSession, case_id: int) -> list[PackageIssue]:
    rows = await db.execute(
        select(PackageIssue)
        .where(PackageIssue.case_id == case_id)
        .order_by(PackageIssue.position)
    )
    return list(rows.scalars())


async def set_package_issues(
    db: AsyncSession, actor: NegotiationActor, payload: dict[str, Any]
) -> list[LineSpec]:
    """The mediator lists the issues and options; earlier ratings are dropped.

    payload: ``issues``: [{"key": "refund", "options": ["full", "half"]}, ...]
    """
    ctx = await load_context(db, actor)
    require_mediator(ctx)
    raw = payload.get("issues")
    if not isinstance(raw, list):
        raise InvalidInput("issues: expected a list", code="no_issues", field="issues")
    try:
        issues = [
            packages.Issue(
                str(i["key"]).strip()[:120],
                tuple(str(o).strip()[:200] for o in i["options"]),
            )
            for i in raw
        ]
    except (KeyError, TypeError):
        raise InvalidInput(
            "issues: each needs a key and a list of options", code="invalid_options"
        ) from None
    with domain_errors():
        packages.validate_issues(issues)
    old = [i.id for i in await _issues(db, ctx.case.id)]
    if old:
        await db.execute(delete(PackageRating).where(PackageRating.issue_id.in_(old)))
        await db.execute(delete(PackageIssue).where(PackageIssue.id.in_(old)))
    for position, issue in enumerate(issues):
        db.add(
            PackageIssue(
                case_id=ctx.case.id,
                key=issue.key,
                position=position,
                options=list(issue.options),
            )
        )
    await db.flush()
    # issues and options are not secret; only the weights and ratings are
    return [
        LineSpec(
            "package.issues",
            actor.room,
            JOINT,
            {"issues": [{"key": i.key, "options": list(i.options)} for i in issues]},
        )
    ]


async def rate_package(
    db: AsyncSession, actor: NegotiationActor, payload: dict[str, Any]
) -> list[LineSpec]:
    """A party privately weights each issue and rates its options.

    payload: ``ratings``: {issue key: {"weight": int, "options": {option: 0-10}}}
    """
    ctx = await load_context(db, actor)
    if actor.party_id is None:
        raise PermissionDenied("Only a party rates options.", code="not_a_party")
    stored = await _issues(db, ctx.case.id)
    if not stored:
        raise IllegalTransition("No issues to rate yet.", code="no_issues")
    raw = payload.get("ratings")
    if not isinstance(raw, dict):
        raise InvalidInput("ratings: expected an object", code="invalid_rating")
    issues = [packages.Issue(i.key, tuple(i.options)) for i in stored]
    prefs = packages.Preferences(
        # a missing weight stays None here and is refused by validation
        weights={k: v.get("weight") for k, v in raw.items() if isinstance(v, dict)},  # type: ignore[misc]
        ratings={
            k: dict(v.get("options") or {})
            for k, v in raw.items()
            if isinstance(v, dict)
        },
    )
    with domain_errors():
        packages.validate_preferences(issues, prefs)
    ids = [i.id for i in stored]
    await db.execute(
        delete(PackageRating).where(
            PackageRating.issue_id.in_(ids), PackageRating.party_id == actor.party_id
        )
    )
    for issue in stored:
        db.add(
            PackageRating(
                issue_id=issue.id,
                party_id=actor.party_id,
                weight=prefs.weights[issue.key],
                ratings={o: prefs.ratings[issue.key][o] for o in issue.options},
            )
        )
    await db.flush()
    return [
        LineSpec("package.rated", actor.room, MEDIATOR, {"party_id": actor.party_id}),
        LineSpec(
            "package.rating_saved",
            actor.room,
            participant(actor.participant_id),
            {"ratings": raw},
        ),
    ]


async def package_suggestion(db: AsyncSession, case_id: int) -> packages.Suggestion:
    """The fairest package over the stored ratings (mediator only)."""
    stored = await _issues(db, case_id)
    issues = [packages.Issue(i.key, tuple(i.options)) for i in stored]
    rows = await db.execute(
        select(PackageRating).where(PackageRating.issue_id.in_([i.id for i in stored]))
    )
    key_of = {i.id: i.key for i in stored}
    weights: dict[int, dict[str, int]] = {}
    ratings: dict[int, dict[str, dict[str, int]]] = {}
    for row in rows.scalars():
        weights.setdefault(row.party_id, {})[key_of[row.issue_id]] = row.weight
        ratings.setdefault(row.party_id, {})[key_of[row.issue_id]] = row.ratings
    prefs = {p: packages.Preferences(weights[p], ratings[p]) for p in weights}
    with domain_errors():
        return packages.suggest(issues, prefs)


async def suggest_package(
    db: AsyncSession, actor: NegotiationActor, payload: dict[str, Any]
) -> list[LineSpec]:
    """The mediator computes the suggested package; only the mediator sees it."""
    ctx = await load_context(db, actor)
    require_mediator(ctx)
    suggestion = await package_suggestion(db, ctx.case.id)
    return [LineSpec("package.suggested", actor.room, MEDIATOR, suggestion.to_dict())]


async def propose_package(
    db: AsyncSession, actor: NegotiationActor, payload: dict[str, Any]
) -> list[LineSpec]:
    """The mediator proposes a package as an ordinary offer.

    payload: ``choice``: {issue key: option}; optional ``terms`` (extra
    monetary terms) and ``note``.
    """
    ctx = await load_context(db, actor)
    require_mediator(ctx)
    choice = payload.get("choice")
    stored = {i.key: i for i in await _issues(db, ctx.case.id)}
    if not isinstance(choice, dict) or set(choice) != set(stored):
        raise InvalidInput(
            "choice: pick one option for every issue", code="invalid_choice"
        )
    for key, option in choice.items():
        if option not in stored[key].options:
            raise InvalidInput(
                f"{key}: {option!r} is not one of its options", code="invalid_choice"
            )
    terms = list(payload.get("terms") or []) + [
        {"type": "obligation", "text": f"{key}: {choice[key]}"} for key in stored
    ]
    return await make_offer(db, actor, {"terms": terms, "note": payload.get("note")})
