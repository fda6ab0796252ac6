"""The room benchmark in one command: ``python -m bench.rooms``.

Runs, side by side on this machine, a bare Node socket.io relay, a bare
python-socketio relay (default and tuned) and Accord's full room pipeline,
each in its own process, driven by the official socket.io-client under Node
in another process. Two scenarios:

- steady: S sessions of P participants, each sending one line every I
  seconds; one-way latency p50/p99, server CPU per delivered line, and
  resident memory per idle connection;
- burst: one room of R receivers and a sender emitting M lines at once;
  deliveries per server CPU-second and the ratio to Node's.

Everything listens on 127.0.0.1; every loop is bounded in count and time.
Results go to a JSON file and a Markdown table (``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.rooms import procstat
from bench.rooms.report import markdown
from bench.rooms.servers import (
    BENCH_ROOT,
    CACHE,
    NODE_DIR,
    Python,
    Running,
    ServerSpec,
    accord,
    ensure_python,
    free_port,
    node_server,
    relay_default,
    relay_tuned,
    versions_of,
)

RESULTS = BENCH_ROOT / "bench" / "rooms" / "results"
CURRENT = f"{sys.version_info.major}.{sys.version_info.minor}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; --quick shrinks everything for a smoke run."""
    p = argparse.ArgumentParser(
        prog="python -m bench.rooms",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--quick", action="store_true", help="a short smoke run (< 2 min)")
    p.add_argument("--sessions", type=int, default=200)
    p.add_argument("--per-session", type=int, default=5)
    p.add_argument("--interval", type=float, default=5.0, help="seconds between lines")
    p.add_argument("--steady-seconds", type=float, default=30.0)
    p.add_argument("--steady-rounds", type=int, default=1)
    p.add_argument("--burst-receivers", type=int, default=100)
    p.add_argument("--burst-messages", type=int, default=300)
    p.add_argument("--burst-rounds", type=int, default=3)
    p.add_argument(
        "--accord-burst-messages",
        type=int,
        default=100,
        help="burst length for the Accord pipeline, which persists every line "
        "(its per-delivery cost does not depend on the length; this keeps the "
        "run under ten minutes)",
    )
    p.add_argument(
        "--python",
        action="append",
        default=None,
        help="a CPython minor version to run the Python servers on (repeatable; "
        "default: this interpreter's, plus 3.12 where one is installed)",
    )
    p.add_argument(
        "--accord-tree",
        type=Path,
        default=BENCH_ROOT,
        help="the Accord checkout whose room pipeline is measured",
    )
    p.add_argument(
        "--only",
        default="",
        help="comma-separated server kinds to run: node,relay,accord (default all)",
    )
    p.add_argument(
        "--scenarios", default="steady,burst", help="comma-separated: steady,burst"
    )
    p.add_argument(
        "--accord-variants",
        default="inline,pg2",
        help="comma-separated: inline (the app as built, SQLite, one process), "
        "pg2 (PostgreSQL and Redis, two uvicorn workers), stock (python-socketio's "
        "own manager), roster-on-change (a what-if); extra variants run on the "
        "newest Python only",
    )
    p.add_argument("--skip-npm", action="store_true", help="do not run npm ci")
    p.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="attach py-spy (on PATH or PY_SPY) to each Python server during the "
        "message phase and write collapsed stacks to this directory",
    )
    p.add_argument("--out", type=Path, default=None, help="results file stem")
    args = p.parse_args(argv)
    if args.quick:
        args.sessions = min(args.sessions, 40)
        args.steady_seconds = min(args.steady_seconds, 6.0)
        args.steady_rounds = 1
        args.burst_receivers = min(args.burst_receivers, 50)
        args.burst_messages = min(args.burst_messages, 200)
        args.burst_rounds = 1
    return args


def say(message: str) -> None:
    """Progress on stderr, timestamped."""
    stamp = datetime.now(UTC).strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", file=sys.stderr, flush=True)


# -- populations -----------------------------------------------------------------


def relay_population(args: argparse.Namespace) -> dict[str, Any]:
    """Participants for the bare relays: rooms are just names."""
    sessions = [
        [
            {"id": f"s{i}p{j}", "room": f"s{i}", "session": i}
            for j in range(args.per_session)
        ]
        for i in range(args.sessions)
    ]
    return {
        "warmup": [{"id": f"w{j}", "room": "warmup"} for j in range(10)],
        "sessions": sessions,
        "burst": {
            "sender": {"id": "sender", "room": "burst"},
            "receivers": [
                {"id": f"r{j}", "room": "burst"} for j in range(args.burst_receivers)
            ],
        },
    }


def accord_population(
    spec: ServerSpec, args: argparse.Namespace, workdir: Path
) -> dict[str, Any]:
    """Create a fresh database with sessions, participants and their tokens."""
    assert spec.python is not None
    out = workdir / "population.json"
    cmd = [
        spec.python.executable,
        "-m",
        "bench.rooms.accord_setup",
        "--out",
        str(out),
        "--sessions",
        str(args.sessions),
        "--per-session",
        str(args.per_session),
        "--burst-receivers",
        str(args.burst_receivers),
    ]
    env = {**os.environ, **spec.env}
    done = subprocess.run(
        cmd, cwd=spec.cwd, env=env, capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        raise RuntimeError(f"accord setup failed:\n{done.stderr[-3000:]}")
    population: dict[str, Any] = json.loads(out.read_text())
    return population


POSTGRES_ADMIN = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def _psql(statement: str) -> None:
    subprocess.run(
        ["psql", POSTGRES_ADMIN, "-q", "-c", statement],
        check=True,
        capture_output=True,
        timeout=120,
    )


@contextlib.contextmanager
def deployment(spec: ServerSpec, workdir: Path) -> Iterator[dict[str, str]]:
    """The database (and Redis) one Accord run uses; a fresh one each time."""
    if spec.env.get("BENCH_ACCORD_DEPLOYMENT") != "pg2":
        yield {"ACCORD_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/accord.db"}
        return
    name = f"accord_bench_{os.getpid()}_{int(time.time())}"
    _psql(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "")
    try:
        yield {
            "ACCORD_DATABASE_URL": f"postgresql+asyncpg://{base}/{name}",
            "ACCORD_REDIS_URL": REDIS_URL,
            "ACCORD_REDIS_PREFIX": name,
        }
    finally:
        _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def accord_env(workdir: Path, port: int) -> dict[str, str]:
    """Accord's settings for one run: its own data directory and limits."""
    return {
        "ACCORD_DATA_DIR": str(workdir / "data"),
        "ACCORD_SECRET_KEY": "bench-secret-key-0123456789abcdefghijklmnopqrstuv",
        "ACCORD_PUBLIC_URL": f"http://127.0.0.1:{port}",
        # the benchmark's own load must not trip the per-connection limits
        "ACCORD_ROOM_EVENTS_PER_10S": "100000",
        "ACCORD_ROOM_MAX_PARTICIPANTS": "1000",
    }


# -- one measured run ----------------------------------------------------------------


class Driver:
    """The Node load driver, spoken to in JSON lines."""

    def __init__(self, proc: asyncio.subprocess.Process, limit_s: float) -> None:
        self.proc = proc
        self.deadline = time.monotonic() + limit_s
        self.warnings: list[dict[str, Any]] = []

    async def expect(self, *events: str) -> dict[str, Any]:
        """The next message of one of these kinds; warnings are kept aside."""
        assert self.proc.stdout is not None
        while True:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"driver silent; waiting for {events}")
            line = await asyncio.wait_for(self.proc.stdout.readline(), left)
            if not line:
                raise RuntimeError(f"driver exited while waiting for {events}")
            try:
                msg: dict[str, Any] = json.loads(line)
            except json.JSONDecodeError:
                continue
            if msg.get("event") == "warning":
                self.warnings.append(msg)
                say(f"  driver warning: {msg}")
                continue
            if msg.get("event") == "error":
                raise RuntimeError(f"driver failed: {msg.get('error')}")
            if msg.get("event") in events:
                return msg

    async def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"go\n")
        await self.proc.stdin.drain()

    async def close(self) -> None:
        if self.proc.returncode is None:
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


async def start_driver(config: dict[str, Any], workdir: Path, limit_s: float) -> Driver:
    path = workdir / f"driver-{config['scenario']}.json"
    path.write_text(json.dumps(config))
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(NODE_DIR / "driver.js"),
        str(path),
        cwd=NODE_DIR,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=16 * 1024 * 1024,
    )
    return Driver(proc, limit_s)


async def run_once(
    spec: ServerSpec, scenario: str, args: argparse.Namespace
) -> dict[str, Any]:
    """Start the server, drive one scenario, sample /proc, stop the server."""
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(
            tempfile.TemporaryDirectory(prefix=f"bench-{spec.key}-")
        )
        workdir = Path(tmp)
        port = free_port()
        if spec.kind == "accord":
            where = stack.enter_context(deployment(spec, workdir))
            env = {**spec.env, **accord_env(workdir, port), **where}
            spec = ServerSpec(**{**spec.__dict__, "env": env})
            population = await asyncio.to_thread(accord_population, spec, args, workdir)
        else:
            population = relay_population(args)

        load_start = os.getloadavg()
        server = Running(spec, port, workdir / "server.log")
        try:
            server.wait_ready()
            config: dict[str, Any] = {
                "url": server.url,
                "adapter": spec.adapter,
                "scenario": scenario,
                "population": population,
                "interval_ms": args.interval * 1000,
                "duration_s": args.steady_seconds,
                "messages": (
                    min(args.burst_messages, args.accord_burst_messages)
                    if spec.kind == "accord"
                    else args.burst_messages
                ),
                "burst_timeout_s": 120,
                "time_limit_s": 300,
            }
            driver = await start_driver(config, workdir, limit_s=320)
            profiler: list[subprocess.Popen[bytes]] = []

            def profile() -> None:
                proc = start_profiler(spec, scenario, server.pid, args.profile)
                if proc is not None:
                    profiler.append(proc)

            try:
                if scenario == "steady":
                    result = await _steady(server, driver, profile)
                else:
                    result = await _burst(server, driver, profile)
            finally:
                await driver.close()
                for proc in profiler:
                    stop_profiler(proc)
            result["driver_warnings"] = driver.warnings
        finally:
            server.stop()
            log_tail = server.log.read_text(errors="replace")[-2000:]
        result.update(
            server=spec.key,
            scenario=scenario,
            load_start=[round(x, 2) for x in load_start],
            load_end=[round(x, 2) for x in os.getloadavg()],
            server_log_tail=log_tail if log_tail.strip() else "",
        )
        return result


def start_profiler(
    spec: ServerSpec, scenario: str, pid: int, directory: Path | None
) -> subprocess.Popen[bytes] | None:
    """py-spy sampling the server (Python servers only), or None."""
    if directory is None or spec.python is None:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    py_spy = os.environ.get("PY_SPY", "py-spy")
    out = directory / f"{spec.key}-{scenario}.txt"
    argv = [py_spy, "record", "--pid", str(pid), "--rate", "100", "--format", "raw"]
    argv += ["--nonblocking", "--output", str(out)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_profiler(proc: subprocess.Popen[bytes] | None) -> None:
    """Stop py-spy; on SIGINT it writes what it sampled."""
    if proc is None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


async def _steady(
    server: Running, driver: Driver, profile: Callable[[], None]
) -> dict[str, Any]:
    warm = await driver.expect("warm")
    rss0 = procstat.rss_bytes(server.pid)
    await driver.go()
    idle = await driver.expect("idle")
    await asyncio.sleep(2.0)  # let the last joins settle before sampling
    rss1 = procstat.rss_bytes(server.pid)
    profile()
    cpu0 = procstat.cpu_seconds(server.pid)
    t0 = time.monotonic()
    await driver.go()
    out = await driver.expect("result")
    cpu = procstat.cpu_seconds(server.pid) - cpu0
    wall = time.monotonic() - t0
    added = idle["connections"] - warm["connections"]
    out.update(
        server_cpu_s=cpu,
        server_wall_s=wall,
        server_cpu_share=cpu / wall if wall else None,
        cpu_us_per_delivery=1e6 * cpu / out["delivered"] if out["delivered"] else None,
        rss_base_mb=rss0 / 2**20,
        rss_idle_mb=rss1 / 2**20,
        idle_connections=added,
        idle_kb_per_connection=(rss1 - rss0) / 1024 / added if added else None,
    )
    return out


async def _burst(
    server: Running, driver: Driver, profile: Callable[[], None]
) -> dict[str, Any]:
    await driver.expect("ready")
    profile()
    cpu0 = procstat.cpu_seconds(server.pid)
    await driver.go()
    out = await driver.expect("result")
    cpu = procstat.cpu_seconds(server.pid) - cpu0
    out.update(
        server_cpu_s=cpu,
        deliveries_per_cpu_s=out["delivered"] / cpu if cpu else None,
        cpu_us_per_delivery=1e6 * cpu / out["delivered"] if out["delivered"] else None,
    )
    return out


# -- the whole run ----------------------------------------------------------------


def plan(args: argparse.Namespace, log: Path) -> tuple[list[ServerSpec], list[str]]:
    """The server configurations to measure, and why any were left out."""
    gaps: list[str] = []
    versions = args.python or [CURRENT, "3.12"]
    pythons: list[Python] = []
    for version in dict.fromkeys(versions):
        say(f"preparing Python {version}")
        try:
            found = ensure_python(version, args.accord_tree, log)
        except (subprocess.SubprocessError, OSError) as exc:
            found = None
            gaps.append(f"Python {version}: could not prepare a venv ({exc})")
        if found is None:
            gaps.append(f"Python {version}: no interpreter found on this machine")
        else:
            pythons.append(found)

    kinds = set(filter(None, args.only.split(","))) or {"node", "relay", "accord"}
    specs: list[ServerSpec] = []
    if "node" in kinds:
        specs.append(node_server())
    for python in pythons:
        if "relay" in kinds:
            if python.version == CURRENT:
                specs.append(relay_default(python))
            specs.append(relay_tuned(python))
    if "accord" in kinds:
        reason = accord_missing(args.accord_tree)
        if reason:
            gaps.append(f"Accord pipeline not measured: {reason}")
        else:
            variants = [v for v in args.accord_variants.split(",") if v]
            for variant in variants:
                # extra variants only on the newest interpreter, to save time
                chosen = pythons if variant == "inline" else pythons[-1:]
                specs += [accord(p, args.accord_tree, variant) for p in chosen]
    return specs, gaps


def accord_missing(tree: Path) -> str | None:
    """Why this tree cannot be benchmarked yet, or None when it can."""
    if not (tree / "server" / "app.py").exists():
        return f"{tree} is not an Accord checkout (no server/app.py)"
    protocol = tree / "docs" / "protocol.md"
    if not protocol.exists():
        return f"{tree} has no docs/protocol.md yet (the room hub has not landed)"
    adapter = NODE_DIR / "adapters" / "accord.js"
    if not adapter.exists():
        return "the driver has no Accord adapter"
    return None


def aggregate(runs: list[dict[str, Any]], key: str) -> dict[str, float] | None:
    """Median and range of one numeric field over repeated runs."""
    values = [r[key] for r in runs if isinstance(r.get(key), int | float)]
    if not values:
        return None
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def nested(key: str) -> Callable[[dict[str, Any]], Any]:
    outer, inner = key.split(".")
    return lambda r: (r.get(outer) or {}).get(inner)


def summarise(results: list[dict[str, Any]], specs: list[ServerSpec]) -> dict[str, Any]:
    """Per server and scenario: medians and ranges of the headline figures."""
    table: dict[str, Any] = {}
    for spec in specs:
        for scenario in ("steady", "burst"):
            runs = [
                r
                for r in results
                if r["server"] == spec.key and r["scenario"] == scenario
            ]
            if not runs:
                continue
            flat = []
            for r in runs:
                f = dict(r)
                f["p50_ms"] = nested("latency.p50_ms")(r)
                f["p99_ms"] = nested("latency.p99_ms")(r)
                flat.append(f)
            fields = [
                "p50_ms",
                "p99_ms",
                "cpu_us_per_delivery",
                "deliveries_per_s",
                "deliveries_per_cpu_s",
                "idle_kb_per_connection",
                "server_cpu_share",
                "driver_cpu_s",
                "delivered",
                "expected",
            ]
            table.setdefault(spec.key, {})[scenario] = {
                f: aggregate(flat, f) for f in fields if aggregate(flat, f)
            }
    return table


def prepare(args: argparse.Namespace) -> tuple[list[ServerSpec], list[str]]:
    """Install the Node packages and the Python environments; pick the servers."""
    CACHE.mkdir(parents=True, exist_ok=True)
    if not args.skip_npm:
        say("npm ci (bench/rooms/node)")
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=NODE_DIR,
            check=True,
            timeout=300,
        )
    specs, gaps = plan(args, CACHE / "setup.log")
    for gap in gaps:
        say(f"gap: {gap}")
    return specs, gaps


def schedule(
    specs: list[ServerSpec], args: argparse.Namespace
) -> list[tuple[ServerSpec, str]]:
    """Every (server, scenario) run, round by round."""
    # interleave: each round visits every server once, so drift in background
    # load spreads over all of them rather than landing on one
    scenarios = [s for s in args.scenarios.split(",") if s]
    order: list[tuple[ServerSpec, str]] = []
    for n in range(max(args.steady_rounds, args.burst_rounds)):
        for scenario in scenarios:
            wanted = args.steady_rounds if scenario == "steady" else args.burst_rounds
            if n < wanted:
                order += [(spec, scenario) for spec in specs]
    return order


async def measure(
    order: list[tuple[ServerSpec, str]], args: argparse.Namespace
) -> tuple[list[dict[str, Any]], list[str]]:
    """Run the schedule one server at a time; a failed run is recorded, not fatal."""
    results: list[dict[str, Any]] = []
    failures: list[str] = []
    for i, (spec, scenario) in enumerate(order, 1):
        say(f"[{i}/{len(order)}] {scenario} on {spec.label}")
        try:
            result = await run_once(spec, scenario, args)
        except Exception as exc:
            failures.append(f"{spec.key} {scenario}: {exc}")
            say(f"  FAILED: {exc}")
            continue
        results.append(result)
        say("  " + one_line(result))
    return results, failures


def tool_versions(specs: list[ServerSpec]) -> dict[str, Any]:
    """Node, socket.io and each Python's packages."""
    node_modules = NODE_DIR / "node_modules"
    versions: dict[str, Any] = {
        "node": subprocess.run(
            ["node", "--version"], capture_output=True, text=True, check=False
        ).stdout.strip(),
    }
    for package in ("socket.io", "socket.io-client"):
        meta = json.loads((node_modules / package / "package.json").read_text())
        versions[package] = meta["version"]
    for spec in specs:
        if spec.python and spec.python.tag not in versions:
            versions[spec.python.tag] = versions_of(spec.python)
    return versions


def tree_revision(tree: Path) -> dict[str, Any]:
    """The commit a checkout is at, and whether it has uncommitted changes."""

    def git(*argv: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(tree), *argv], capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD"),
        "dirty": bool(git("status", "--porcelain")),
    }


def main(argv: list[str] | None = None) -> int:
    """Prepare, measure, and write the JSON report and the Markdown tables."""
    args = parse_args(argv)
    started = datetime.now(UTC)
    specs, gaps = prepare(args)
    results, failures = asyncio.run(measure(schedule(specs, args), args))

    report = {
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m bench.rooms " + " ".join(sys.argv[1:]),
        "machine": procstat.machine(),
        "versions": tool_versions(specs),
        "settings": {k: str(v) for k, v in vars(args).items()},
        "accord_tree": {
            "path": str(args.accord_tree),
            **tree_revision(args.accord_tree),
        },
        "bench_tree": tree_revision(BENCH_ROOT),
        "servers": {s.key: {"label": s.label, "notes": s.notes} for s in specs},
        "gaps": gaps,
        "failures": failures,
        "summary": summarise(results, specs),
        "runs": results,
    }
    stem = args.out or RESULTS / started.strftime("rooms-%Y%m%dT%H%M%SZ")
    stem.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{stem}.json").write_text(json.dumps(report, indent=1))
    Path(f"{stem}.md").write_text(markdown(report))
    print(markdown(report))
    say(f"wrote {stem}.json and {stem}.md")
    return 1 if failures else 0


def one_line(r: dict[str, Any]) -> str:
    lat = r.get("latency") or {}
    parts = [
        f"delivered {r.get('delivered')}/{r.get('expected')}",
        f"p50 {lat.get('p50_ms', float('nan')):.1f} ms",
        f"p99 {lat.get('p99_ms', float('nan')):.1f} ms",
        f"{r.get('cpu_us_per_delivery') or float('nan'):.1f} µs CPU/delivery",
    ]
    if r.get("idle_kb_per_connection") is not None:
        parts.append(f"{r['idle_kb_per_connection']:.1f} KB/idle conn")
    if r.get("deliveries_per_cpu_s") is not None:
        parts.append(f"{r['deliveries_per_cpu_s']:.0f} deliveries/CPU-s")
    errors = {
        k: r.get(k) for k in ("connectErrors", "joinErrors", "ackErrors") if r.get(k)
    }
    if errors:
        parts.append(f"errors {errors}")
    parts.append(f"load {r['load_start'][0]}→{r['load_end'][0]}")
    return ", ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
