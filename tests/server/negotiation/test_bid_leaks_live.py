"""Sealed bids through the live hub leak no figure to any party-visible channel.

Randomised blind bids (rule, rounds, figures) run over real Socket.IO
clients on a live server; afterwards everything the parties' side could
reach is gathered: every packet their sockets (the claimant, their
interpreter, the respondent) received, a replay from 0, the transcript and
export APIs and the bids and offers APIs as each party, the mails queued at
closure, the case event log, and every log record our code emitted at
DEBUG and above. No submitted figure may appear there in any usual written
form, except the settled amount, which must reach both parties.
"""

from __future__ import annotations

import logging
import os
import random
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from server.models import Case, CaseEvent, OutboxMail, Party
from server.settings import Settings
from tests.conftest import LiveServer, make_settings
from tests.rooms.negotiation.leaks import leaked
from tests.server.negotiation.livekit import close_all, ok, room
from tests.server.negotiation.test_bid_leaks import Collect
from tests.server.roomkit import settle, wait_for

SCENARIOS = int(os.environ.get("ACCORD_TEST_BID_SCENARIOS", "6"))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, ACCORD_ROOM_EVENTS_PER_10S="100000")


def scenario(rng: random.Random) -> dict[str, Any]:
    """A random rule and up to three rounds of figures."""
    rounds = rng.randint(1, 3)
    percent = rng.choice([None, f"{rng.randint(0, 300) / 10:.1f}"])
    minor = (
        rng.choice([None, rng.randint(0, 10**7)]) if percent else rng.randint(0, 10**7)
    )
    # figures of at least 10,000.00 cannot be confused with ids, seqs or limits
    figures = [
        (rng.randint(10**6, 10**9), rng.randint(10**6, 10**9)) for _ in range(rounds)
    ]
    if rng.random() < 0.4:
        # close enough to settle in the first round
        demand = rng.randint(10**6, 10**9)
        figures[0] = (demand, demand - rng.randint(0, demand // 50))
        percent = "5.0"
    return {
        "rule": {
            "currency": "CNY",
            "rounds": rounds,
            "tolerance_percent": percent,
            "tolerance_minor": minor,
            "mediator_sees_figures": rng.random() < 0.5,
        },
        "figures": figures,
    }


async def run_one(live: LiveServer, plan: dict[str, Any]) -> dict[str, Any]:
    """One blind bid in a fresh case; returns the party-visible outputs."""
    setup = await room(live)
    peers, http = setup["peers"], setup["http"]
    session_id, case_id = setup["session_id"], setup["world"].case_id
    mediator = peers["mediator"]
    submitted: set[int] = set()
    sealed = 0
    try:
        opened = await ok(mediator, "bid.open", {"client_id": "open", **plan["rule"]})
        await wait_for(
            lambda: any(x["kind"] == "bid.opened" for x in peers["claimant"].lines)
        )
        bid_id = next(
            x["content"]["bid_round_id"]
            for x in mediator.lines
            if x["kind"] == "bid.opened" and x["seq"] == opened["seq"]
        )
        status = "open"
        for n, (demand, offer) in enumerate(plan["figures"]):
            if status != "open":
                break
            for who, figure in (("claimant", demand), ("respondent", offer)):
                submitted.add(figure)
                sealed += 1
                ack = await ok(
                    peers[who],
                    "bid.submit",
                    {
                        "client_id": f"b{n}",
                        "bid_round_id": bid_id,
                        "figure_minor": figure,
                    },
                )
                assert set(ack) == {"ok", "seq", "seqs", "duplicate"}
            await wait_for(
                lambda n=n: (
                    sum(x["kind"] == "bid.result" for x in mediator.lines) == n + 1
                )
            )
            result = [x for x in mediator.lines if x["kind"] == "bid.result"][-1]
            status = result["content"]["status"]
        await settle()

        # mails go to parties with an address; closure queues one each
        async with live.services.db.write() as db:
            await db.execute(
                update(Party)
                .where(Party.case_id == case_id)
                .values(email="party@example.org")
            )
            reference = (await db.get(Case, case_id)).reference  # type: ignore[union-attr]
        outcome = (
            {"outcome": "partly_settled"}
            if status == "settled"
            else {"outcome": "not_settled", "reason": "Figures too far apart."}
        )
        closed = await http["mediator"].post(
            f"/api/cases/{reference}/closure", json=outcome
        )
        assert closed.status_code == 200, closed.text
        await settle()

        seen: list[Any] = []
        for name in ("claimant", "interpreter", "respondent"):
            peer = peers[name]
            seen.append(peer.events)
            seen.append(await peer.call("replay", {"since": 0}))
        for name in ("claimant", "respondent"):
            for path in (
                f"/api/sessions/{session_id}/transcript",
                f"/api/cases/{case_id}/transcript",
                f"/api/sessions/{session_id}/bids",
                f"/api/sessions/{session_id}/offers",
            ):
                response = await http[name].get(path)
                assert response.status_code == 200, (path, response.text)
                seen.append(response.json())
        async with live.services.db.read() as db:
            seen.extend(
                {"kind": e.kind, "payload": e.payload}
                for e in (
                    await db.execute(
                        select(CaseEvent).where(CaseEvent.case_id == case_id)
                    )
                ).scalars()
            )
            mails = (
                await db.execute(
                    select(OutboxMail).where(OutboxMail.case_id == case_id)
                )
            ).scalars()
            seen.extend({"subject": m.subject, "body": m.body} for m in mails)
        settled = result["content"].get("amount_minor") if status == "settled" else None
        mediator_saw = [x for x in mediator.lines if x["kind"] == "bid.figure"]
        return {
            "seen": seen,
            "submitted": submitted,
            "settled": settled,
            "mediator_figures": len(mediator_saw),
            "sealed": sealed,
        }
    finally:
        await close_all(setup)


async def test_no_party_visible_channel_of_the_live_room_holds_a_sealed_figure(
    live_server: LiveServer,
) -> None:
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    collect = Collect()
    collect.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    watched = [
        logging.getLogger(n) for n in ("server", "rooms", "socketio", "engineio")
    ]
    previous = [lg.level for lg in watched]
    root = logging.getLogger()
    root.addHandler(collect)
    for lg in watched:
        lg.setLevel(logging.DEBUG)
    runs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    try:
        for _ in range(SCENARIOS):
            plan = scenario(rng)
            runs.append((plan, await run_one(live_server, plan)))
    finally:
        root.removeHandler(collect)
        for lg, level in zip(watched, previous, strict=True):
            lg.setLevel(level)

    assert collect.lines, "the log capture saw nothing; it would hide a leak"
    settled_runs = 0
    for plan, out in runs:
        rule = plan["rule"]
        public = {str(rule["tolerance_minor"]), str(rule["tolerance_percent"])}
        for figure in out["submitted"] - {out["settled"]}:
            hits = [
                h
                for h in leaked(figure, *out["seen"], *collect.lines)
                if h not in public
            ]
            assert hits == [], (seed, plan, figure, hits)
        if out["settled"] is not None:
            settled_runs += 1
            assert leaked(out["settled"], *out["seen"]), "the parties must learn it"
        # the mediator sees each figure exactly when the rule allows it
        expected = out["sealed"] if rule["mediator_sees_figures"] else 0
        assert out["mediator_figures"] == expected, (seed, plan)
    print(
        f"live blind bids: seed {seed}, {len(runs)} scenarios, "
        f"{settled_runs} settled, {len(collect.lines)} log records searched"
    )
