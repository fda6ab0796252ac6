"""The room benchmark's own arithmetic: /proc sampling and the target verdicts."""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from bench.rooms import procstat
from bench.rooms.__main__ import relay_population, summarise
from bench.rooms.report import markdown
from bench.rooms.servers import ServerSpec


def test_cpu_seconds_counts_this_process_working() -> None:
    before = procstat.cpu_seconds(os.getpid())
    end = time.process_time() + 0.2
    while time.process_time() < end:
        pass
    after = procstat.cpu_seconds(os.getpid())
    assert 0.1 <= after - before <= 2.0


def test_rss_grows_with_a_large_allocation() -> None:
    before = procstat.rss_bytes(os.getpid())
    block = bytearray(64 * 2**20)
    block[::4096] = b"x" * len(block[::4096])
    assert procstat.rss_bytes(os.getpid()) - before > 32 * 2**20


def test_relay_population_has_the_requested_shape() -> None:
    args = argparse.Namespace(sessions=3, per_session=5, burst_receivers=7)
    population = relay_population(args)
    assert [len(s) for s in population["sessions"]] == [5, 5, 5]
    assert len({p["id"] for s in population["sessions"] for p in s}) == 15
    assert len(population["burst"]["receivers"]) == 7


def _run(server: str, scenario: str, **figures: Any) -> dict[str, Any]:
    return {
        "server": server,
        "scenario": scenario,
        "delivered": 100,
        "expected": 100,
        "load_start": [1.0, 1.0, 1.0],
        "load_end": [1.0, 1.0, 1.0],
        **figures,
    }


def _spec(key: str) -> ServerSpec:
    return ServerSpec(key=key, label=key, kind="x", adapter="relay", argv=[], cwd=".")  # type: ignore[arg-type]


def test_targets_are_judged_against_the_issue_thresholds() -> None:
    runs = [
        _run("node", "burst", deliveries_per_cpu_s=100_000.0),
        _run("accord-a", "burst", deliveries_per_cpu_s=50_000.0),
        _run(
            "accord-a",
            "steady",
            latency={"p50_ms": 5.0, "p99_ms": 49.0},
            idle_kb_per_connection=50.0,
            server_cpu_share=0.1,
        ),
        _run("accord-b", "burst", deliveries_per_cpu_s=49_000.0),
        _run(
            "accord-b",
            "steady",
            latency={"p50_ms": 5.0, "p99_ms": 51.0},
            idle_kb_per_connection=50.5,
            server_cpu_share=0.1,
        ),
    ]
    specs = [_spec("node"), _spec("accord-a"), _spec("accord-b")]
    report = {
        "servers": {s.key: {"label": s.key, "notes": ""} for s in specs},
        "summary": summarise(runs, specs),
        "runs": runs,
        "gaps": [],
        "failures": [],
    }
    text = markdown(report)
    assert "| accord-a | met (49.0 ms) | met (50.0 KB) | met (0.50) |" in text
    assert (
        "| accord-b | NOT met (51.0 ms) | NOT met (50.5 KB) | NOT met (0.49) |" in text
    )
