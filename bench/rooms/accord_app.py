"""The uvicorn factory the benchmark serves Accord with.

It builds the app exactly as ``server.app:create_app`` does, then applies the
fan-out tuning the lead wires into server/app.py through
``rooms.fanout.make_client_manager`` (and the eager task factory on Python
3.12+), so a tree where that wiring has not landed yet is measured as it will
run. ``BENCH_ACCORD_MANAGER=stock`` measures the tree untouched instead.

``BENCH_ACCORD_WHATIF=roster-on-change`` is a labelled what-if, not the
pipeline as built: the hub then skips the roster push that follows a chat
line (nobody joined, left or moved, so every roster is unchanged), which
shows how much of the cost that push is.
"""

from __future__ import annotations

import contextvars
import importlib.util
import logging
import os
from pathlib import Path
from types import ModuleType
from typing import Any

logger = logging.getLogger(__name__)


def _fanout() -> ModuleType:
    """rooms.fanout from the tree under test, or from the benchmark's own tree."""
    try:
        import rooms.fanout as module

        return module
    except ImportError:
        path = Path(__file__).resolve().parents[2] / "rooms" / "fanout.py"
        spec = importlib.util.spec_from_file_location("bench_rooms_fanout", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module


def create() -> Any:
    """Accord's ASGI app, with the inline fan-out manager unless told otherwise."""
    from server.app import create_app
    from server.settings import load_settings

    app = create_app(load_settings())
    if os.environ.get("BENCH_ACCORD_MANAGER", "inline") == "stock":
        return app

    fanout = _fanout()
    services = app.services
    sio = services.sio
    inline = (fanout.SequentialFanoutManager, fanout.SequentialFanoutRedisManager)
    if not isinstance(sio.manager, inline):
        # no connection has arrived yet, so the manager can still be replaced
        manager = fanout.make_client_manager(services.settings.redis_url, logger)
        sio.manager = manager
        manager.set_server(sio)

    async def eager() -> None:
        fanout.install_eager_task_factory()

    services.on_start.insert(0, eager)
    if os.environ.get("BENCH_ACCORD_WHATIF") == "roster-on-change":
        _roster_only_on_change(services.extras["room_hub"])
    return app


# chat lines and typing change nobody's presence or placement
_UNCHANGED_ROSTER = frozenset({"chat.send", "typing"})


def _roster_only_on_change(hub: Any) -> None:
    """What-if: no roster push after events that cannot change the roster."""
    quiet = contextvars.ContextVar("bench_quiet_roster", default=False)
    run, push = hub._run, hub.push_roster

    async def run_quietly(spec: Any, claims: Any, payload: Any) -> Any:
        token = quiet.set(spec.kind in _UNCHANGED_ROSTER)
        try:
            return await run(spec, claims, payload)
        finally:
            quiet.reset(token)

    async def push_unless_quiet(session_id: int) -> None:
        if not quiet.get():
            await push(session_id)

    hub._run = run_quietly
    hub.push_roster = push_unless_quiet
