"""Markdown tables from a room-benchmark report."""

from __future__ import annotations

from typing import Any

P99_TARGET_MS = 50.0
IDLE_KB_TARGET = 50.0
BURST_RATIO_TARGET = 0.5
ERROR_KEYS = ("connectErrors", "joinErrors", "ackErrors")


def _fmt(stat: dict[str, float] | None, digits: int = 1, spread: bool = True) -> str:
    if not stat:
        return "–"
    text = f"{stat['median']:.{digits}f}"
    if spread and stat["n"] > 1:
        text += f" ({stat['min']:.{digits}f}–{stat['max']:.{digits}f})"
    return text


def _loads(report: dict[str, Any], key: str, scenario: str) -> str:
    runs = [
        r for r in report["runs"] if r["server"] == key and r["scenario"] == scenario
    ]
    return "; ".join(f"{r['load_start'][0]}→{r['load_end'][0]}" for r in runs)


def _delivered(report: dict[str, Any], key: str, scenario: str) -> str:
    runs = [
        r for r in report["runs"] if r["server"] == key and r["scenario"] == scenario
    ]
    return "; ".join(f"{r['delivered']}/{r['expected']}" for r in runs)


def _errors(report: dict[str, Any], key: str, scenario: str) -> str:
    total = 0
    for r in report["runs"]:
        if r["server"] == key and r["scenario"] == scenario:
            total += sum(
                int(r.get(k) or 0) for k in ("connectErrors", "joinErrors", "ackErrors")
            )
    return str(total)


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


STEADY_HEAD = (
    "Server",
    "p50 ms",
    "p99 ms",
    "deliveries/s",
    "server CPU µs/delivery",
    "server CPU share",
    "idle KB/conn",
    "delivered/expected",
    "errors",
    "load 1-min start→end",
)
BURST_HEAD = (
    "Server",
    "deliveries per server CPU-s",
    "× Node",
    "server CPU µs/delivery",
    "deliveries/s (wall)",
    "p99 ms",
    "delivered/expected",
    "errors",
    "load 1-min start→end",
)


def markdown(report: dict[str, Any]) -> str:
    """The steady and burst tables, the targets, the gaps."""
    servers = report["servers"]
    summary = report["summary"]
    out: list[str] = ["#### Steady\n", _row(*STEADY_HEAD)]
    out.append(_row(*["---"] * len(STEADY_HEAD)))
    for key, meta in servers.items():
        s = summary.get(key, {}).get("steady")
        if not s or not s.get("server_cpu_share"):
            continue
        out.append(
            _row(
                meta["label"],
                _fmt(s.get("p50_ms")),
                _fmt(s.get("p99_ms")),
                _fmt(s.get("deliveries_per_s"), 0),
                _fmt(s.get("cpu_us_per_delivery")),
                f"{s['server_cpu_share']['median'] * 100:.0f} %",
                _fmt(s.get("idle_kb_per_connection")),
                _delivered(report, key, "steady"),
                _errors(report, key, "steady"),
                _loads(report, key, "steady"),
            )
        )

    node = (summary.get("node", {}).get("burst") or {}).get("deliveries_per_cpu_s")
    out += ["\n#### Burst\n", _row(*BURST_HEAD), _row(*["---"] * len(BURST_HEAD))]
    for key, meta in servers.items():
        s = summary.get(key, {}).get("burst")
        if not s:
            continue
        per_cpu = s.get("deliveries_per_cpu_s")
        ratio = f"{per_cpu['median'] / node['median']:.2f}" if per_cpu and node else "–"
        out.append(
            _row(
                meta["label"],
                _fmt(per_cpu, 0),
                ratio,
                _fmt(s.get("cpu_us_per_delivery")),
                _fmt(s.get("deliveries_per_s"), 0),
                _fmt(s.get("p99_ms"), 0, spread=False),
                _delivered(report, key, "burst"),
                _errors(report, key, "burst"),
                _loads(report, key, "burst"),
            )
        )

    out += ["\n#### Targets (Accord pipeline)\n"]
    out.append(
        _row(
            "Server", "p99 < 50 ms (steady)", "idle ≤ 50 KB/conn", "burst ≥ 0.5 × Node"
        )
    )
    out.append(_row(*["---"] * 4))
    measured = False
    for key, meta in servers.items():
        if not key.startswith("accord"):
            continue
        measured = True
        steady = summary.get(key, {}).get("steady") or {}
        burst = summary.get(key, {}).get("burst") or {}
        p99 = steady.get("p99_ms")
        idle = steady.get("idle_kb_per_connection")
        out.append(
            _row(
                meta["label"],
                _verdict(p99, p99 is not None and p99["median"] < P99_TARGET_MS, "ms"),
                _verdict(
                    idle, idle is not None and idle["median"] <= IDLE_KB_TARGET, "KB"
                ),
                _ratio_verdict(burst.get("deliveries_per_cpu_s"), node),
            )
        )
    if not measured:
        out.append(_row("(Accord pipeline not measured in this run)", "–", "–", "–"))

    if report["gaps"] or report["failures"]:
        out.append("\n#### Gaps and failures in this run\n")
        out += [f"- {g}" for g in report["gaps"] + report["failures"]]
    return "\n".join(out) + "\n"


def _verdict(stat: dict[str, float] | None, ok: bool, unit: str) -> str:
    if not stat:
        return "not measured"
    return f"{'met' if ok else 'NOT met'} ({stat['median']:.1f} {unit})"


def _ratio_verdict(stat: dict[str, float] | None, node: dict[str, float] | None) -> str:
    if not stat or not node:
        return "not measured"
    ratio = stat["median"] / node["median"]
    return f"{'met' if ratio >= BURST_RATIO_TARGET else 'NOT met'} ({ratio:.2f})"
