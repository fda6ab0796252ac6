"""Blind bidding leaks nothing through any channel a party can reach.

For random figures and rules, a whole blind bid runs through the room
actions against a real database; then everything a party could see is
gathered: the transcript lines visible to them, the bids and offers API as
each party, the case event log (the source of exports and timelines), the
mails queued at closure, and every log record our code emitted at DEBUG and
above. No sealed figure may appear there in any usual written form, except
the settled amount.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from rooms.negotiation.lines import MEDIATOR
from server import negotiation as n
from server.models import CaseEvent, OutboxMail
from tests.conftest import (
    PostgresDatabase,
    RunningApp,
    _truncate_postgres,
    make_settings,
    unavailable,
)
from tests.rooms.negotiation.leaks import leaked
from tests.server.negotiation.conftest import As, cookies_for, seed


class Collect(logging.Handler):
    """Keeps every formatted record."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


async def run_bid(
    url: str, data_dir: Path, rule: dict[str, Any], bids: list[tuple[int, int]]
) -> tuple[list[Any], set[int], int | None]:
    """Run one blind bid; return party-visible outputs, figures, settlement."""
    from server.app import create_app

    running = RunningApp(create_app(make_settings(url, data_dir)))
    seen: list[Any] = []
    figures: set[int] = set()
    async with running.starlette.router.lifespan_context(running.starlette):
        services = running.services
        world = await seed(services)
        party_seats = {
            f"participant:{world.claimant_seat}",
            f"participant:{world.respondent_seat}",
        }

        def visible(lines: list[Any]) -> None:
            for line in lines:
                assert line.visibility in {"joint", MEDIATOR, *party_seats}
                if line.visibility != MEDIATOR:
                    seen.append({"kind": line.kind, "content": line.content})

        async with services.db.write() as db:
            opened = await n.open_bid_round(db, world.mediator(), rule)
        visible(opened)
        bid_id = opened[0].content["bid_round_id"]
        async with running.client() as client:
            parties = {
                "claimant": As(
                    client, await cookies_for(services, party_id=world.claimant_id)
                ),
                "respondent": As(
                    client, await cookies_for(services, party_id=world.respondent_id)
                ),
            }
            status = "open"
            for demand, offer in bids:
                if status != "open":
                    break
                for actor, figure in (
                    (world.claimant(), demand),
                    (world.respondent(), offer),
                ):
                    figures.add(figure)
                    async with services.db.write() as db:
                        lines = await n.submit_bid(
                            db, actor, {"bid_round_id": bid_id, "figure_minor": figure}
                        )
                    visible(lines)
                    for who in parties.values():
                        for path in ("bids", "offers"):
                            r = await who.get(
                                f"/api/sessions/{world.session_id}/{path}"
                            )
                            assert r.status_code == 200
                            seen.append(r.json())
                    status = (
                        await parties["claimant"].get(
                            f"/api/sessions/{world.session_id}/bids"
                        )
                    ).json()[0]["status"]

            officer = As(
                client, await cookies_for(services, user_id=world.officer_user_id)
            )
            outcome = {"outcome": "not_settled", "reason": "Figures too far apart."}
            if status == "settled":
                outcome = {"outcome": "partly_settled"}
            closed = await officer.post(
                f"/api/cases/{world.reference}/closure", json=outcome
            )
            assert closed.status_code == 200, closed.text
            seen.append(closed.json())

        async with services.db.read() as db:
            seen.extend(
                {"kind": e.kind, "actor": e.actor, "payload": e.payload}
                for e in (await db.execute(select(CaseEvent))).scalars()
            )
            seen.extend(
                {"subject": m.subject, "body": m.body}
                for m in (await db.execute(select(OutboxMail))).scalars()
            )
            state = await n.bid_state(db, await db.get(n.BidRound, bid_id))
    return seen, figures, state.settled_amount


@pytest.fixture(params=["sqlite", "postgres"])
def backend(
    request: pytest.FixtureRequest,
    sqlite_template: Path,
    postgres_database: PostgresDatabase | None,
) -> str:
    if request.param == "postgres" and postgres_database is None:
        unavailable("PostgreSQL", "start it or set ACCORD_TEST_POSTGRES_URL")
    return str(request.param)


figures = st.integers(min_value=10_000, max_value=10**9)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rounds=st.integers(1, 3),
    tolerance_minor=st.one_of(st.none(), st.integers(0, 10**7)),
    tolerance_percent=st.one_of(st.none(), st.decimals(0, 30, places=1)),
    mediator_sees=st.booleans(),
    bids=st.lists(st.tuples(figures, figures), min_size=1, max_size=3),
)
def test_no_party_visible_channel_holds_a_sealed_figure(
    backend: str,
    sqlite_template: Path,
    postgres_database: PostgresDatabase | None,
    tmp_path: Path,
    rounds: int,
    tolerance_minor: int | None,
    tolerance_percent: Decimal | None,
    mediator_sees: bool,
    bids: list[tuple[int, int]],
) -> None:
    assume(tolerance_minor is not None or tolerance_percent is not None)
    example_dir = tmp_path / uuid.uuid4().hex
    example_dir.mkdir()
    if backend == "sqlite":
        shutil.copy(sqlite_template, example_dir / "accord.db")
        url = f"sqlite+aiosqlite:///{example_dir / 'accord.db'}"
    else:
        assert postgres_database is not None
        url = postgres_database.url
        asyncio.run(_truncate_postgres(url))
    rule = {
        "currency": "CNY",
        "rounds": rounds,
        "tolerance_minor": tolerance_minor,
        "tolerance_percent": (
            str(tolerance_percent) if tolerance_percent is not None else None
        ),
        "mediator_sees_figures": mediator_sees,
    }

    collect = Collect()
    collect.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    watched = [logging.getLogger(name) for name in ("server", "rooms")]
    previous = [lg.level for lg in watched]
    root = logging.getLogger()
    root.addHandler(collect)
    for lg in watched:
        lg.setLevel(logging.DEBUG)
    try:
        seen, submitted, settled = asyncio.run(run_bid(url, example_dir, rule, bids))
    finally:
        root.removeHandler(collect)
        for lg, level in zip(watched, previous, strict=True):
            lg.setLevel(level)

    assert collect.lines, "the log capture saw nothing; it would hide a leak"
    public = {str(tolerance_minor), str(tolerance_percent), "500000"}
    for figure in submitted - {settled}:
        # a written form equal to a public number (the rule's tolerance, the
        # claimed amount) cannot be told apart from it and is no leak
        hits = [h for h in leaked(figure, *seen, *collect.lines) if h not in public]
        assert hits == [], figure
    if settled is not None:
        assert leaked(settled, *seen), "the settlement must reach the parties"
