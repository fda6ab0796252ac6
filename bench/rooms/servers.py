"""The servers under test: how to launch each, and the Python environments."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

BENCH_ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = Path(__file__).resolve().parent / "node"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "accord-bench"


@dataclass
class Python:
    """One CPython with the packages the servers need."""

    version: str  # "3.11"
    executable: str

    @property
    def tag(self) -> str:
        return f"py{self.version}"


@dataclass
class ServerSpec:
    """One server configuration of the benchmark."""

    key: str
    label: str
    kind: str  # node | relay | accord
    adapter: str  # the driver adapter: relay | accord
    argv: list[str]
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)
    python: Python | None = None
    notes: str = ""


class Running:
    """A launched server process on a loopback port."""

    def __init__(self, spec: ServerSpec, port: int, log: Path) -> None:
        self.spec = spec
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        argv = [a.replace("{port}", str(port)) for a in spec.argv]
        env = {**os.environ, **spec.env}
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                argv, cwd=spec.cwd, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, seconds: float = 60.0) -> None:
        """Block until the port accepts connections; raise if the process died."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.spec.key} exited with {self.proc.returncode}; "
                    f"log:\n{self.log.read_text(errors='replace')[-3000:]}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.spec.key} did not listen within {seconds:.0f} s")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# -- Python environments --------------------------------------------------------


def find_interpreter(version: str) -> str | None:
    """A working CPython of this minor version on this machine, if any."""
    candidates = [shutil.which(f"python{version}") or ""]
    pyenv = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates += sorted(glob.glob(f"{pyenv}/versions/{version}.*/bin/python{version}"))
    candidates += [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    for path in candidates:
        if not path or not os.access(path, os.X_OK):
            continue
        probe = subprocess.run(
            [path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return path
    return None


def project_dependencies(tree: Path) -> list[str]:
    """The runtime dependencies declared in a tree's pyproject.toml."""
    data = tomllib.loads((tree / "pyproject.toml").read_text())
    deps: list[str] = data["project"]["dependencies"]
    return deps


def ensure_python(version: str, tree: Path, log: Path) -> Python | None:
    """This minor version with the project's dependencies, in a cached venv."""
    current = f"{sys.version_info.major}.{sys.version_info.minor}"
    if version == current:
        return Python(version, sys.executable)
    base = find_interpreter(version)
    if base is None:
        return None
    venv = CACHE / f"py{version}"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=300)
    deps = project_dependencies(tree)
    marker = venv / "bench-deps.txt"
    if not marker.exists() or marker.read_text() != "\n".join(deps):
        with log.open("ab") as out:
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", *deps],
                check=True,
                timeout=900,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        marker.write_text("\n".join(deps))
    return Python(version, str(python))


def versions_of(python: Python) -> dict[str, str]:
    """Package versions as one interpreter sees them."""
    code = (
        "import json, sys\n"
        "from importlib.metadata import version as v\n"
        "out = {'python': sys.version.split()[0]}\n"
        "for n in ('python-socketio', 'python-engineio', 'uvicorn', 'websockets',"
        " 'uvloop', 'httptools', 'sqlalchemy', 'aiosqlite'):\n"
        "    try: out[n] = v(n)\n"
        "    except Exception: out[n] = 'absent'\n"
        "print(json.dumps(out))\n"
    )
    probe = subprocess.run(
        [python.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    import json

    result: dict[str, str] = json.loads(probe.stdout)
    return result


# -- the configurations ----------------------------------------------------------


def _uvicorn(python: Python, target: str, *, tuned: bool) -> list[str]:
    argv = [python.executable, "-m", "uvicorn", "--factory", target]
    argv += ["--host", "127.0.0.1", "--port", "{port}", "--log-level", "warning"]
    if tuned:
        argv += ["--loop", "uvloop", "--http", "httptools"]
        argv += ["--ws-per-message-deflate", "false"]
    else:
        # python-socketio and uvicorn as a newcomer would run them
        argv += ["--loop", "asyncio"]
    return argv


def node_server() -> ServerSpec:
    """The bare Node socket.io relay."""
    return ServerSpec(
        key="node",
        label="Node socket.io relay",
        kind="node",
        adapter="relay",
        argv=["node", "server.js", "{port}"],
        cwd=NODE_DIR,
        notes="socket.io 4.8.4, websocket only, perMessageDeflate off (its default)",
    )


def relay_default(python: Python) -> ServerSpec:
    """The bare python-socketio relay as shipped: stock manager, deflate on."""
    return ServerSpec(
        key=f"relay-default-{python.tag}",
        label=f"python-socketio relay, default ({python.tag})",
        kind="relay",
        adapter="relay",
        argv=_uvicorn(python, "bench.rooms.relay:create_default", tuned=False),
        cwd=BENCH_ROOT,
        env={"PYTHONPATH": str(BENCH_ROOT)},
        python=python,
        notes="asyncio loop, permessage-deflate on, stock AsyncManager",
    )


def relay_tuned(python: Python) -> ServerSpec:
    """The bare relay tuned through public APIs only."""
    eager = python.version >= "3.12"
    return ServerSpec(
        key=f"relay-tuned-{python.tag}",
        label=f"python-socketio relay, tuned ({python.tag})",
        kind="relay",
        adapter="relay",
        argv=_uvicorn(python, "bench.rooms.relay:create_tuned", tuned=True),
        cwd=BENCH_ROOT,
        env={"PYTHONPATH": str(BENCH_ROOT)},
        python=python,
        notes="uvloop, deflate off, inline fan-out manager"
        + (", eager task factory" if eager else ""),
    )


ACCORD_VARIANTS = {
    # variant: (key suffix, label suffix, environment, notes)
    "inline": ("", "", {}, "inline fan-out manager"),
    "stock": (
        "-stock",
        ", stock manager",
        {"BENCH_ACCORD_MANAGER": "stock"},
        "the tree's own client manager",
    ),
    "pg2": (
        "-pg2",
        ", PostgreSQL + Redis, 2 workers",
        {"BENCH_ACCORD_DEPLOYMENT": "pg2"},
        "inline fan-out manager; PostgreSQL, Redis fan-out, uvicorn --workers 2",
    ),
    "roster-on-change": (
        "-whatif",
        ", what-if: no roster push after chat",
        {"BENCH_ACCORD_WHATIF": "roster-on-change"},
        "inline fan-out manager; WHAT-IF, not as built: no roster push after chat",
    ),
}


def accord(python: Python, tree: Path, variant: str = "inline") -> ServerSpec:
    """Accord's full room pipeline, served from a checkout of the project."""
    eager = python.version >= "3.12"
    suffix, label, env, notes = ACCORD_VARIANTS[variant]
    argv = _uvicorn(python, "bench.rooms.accord_app:create", tuned=True)
    if variant == "pg2":
        argv += ["--workers", "2"]
    return ServerSpec(
        key=f"accord{suffix}-{python.tag}",
        label=f"Accord room pipeline{label} ({python.tag})",
        kind="accord",
        adapter="accord",
        argv=argv,
        cwd=tree,
        # the tree under test first, so its server/ and rooms/ are the ones run
        env={"PYTHONPATH": f"{tree}{os.pathsep}{BENCH_ROOT}", **env},
        python=python,
        notes=("" if variant == "pg2" else "SQLite in a temp dir, ")
        + "uvloop, deflate off, "
        + notes
        + (", eager task factory" if eager and variant != "stock" else ""),
    )
