"""The inline fan-out managers: the library contract they rely on, and delivery."""

from __future__ import annotations

import asyncio
import inspect
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio
import uvicorn
from engineio import packet as eio_packet
from socketio.async_pubsub_manager import AsyncPubSubManager

from rooms.fanout import (
    SequentialFanoutManager,
    SequentialFanoutRedisManager,
    install_eager_task_factory,
    make_client_manager,
)
from tests.conftest import free_port

# -- the upgrade contract ------------------------------------------------------


def test_stock_emit_signature_is_the_one_overridden() -> None:
    params = list(inspect.signature(socketio.AsyncManager.emit).parameters)
    assert params[:8] == [
        "self",
        "event",
        "data",
        "namespace",
        "room",
        "skip_sid",
        "callback",
        "to",
    ], f"AsyncManager.emit changed its parameters to {params}; review fanout.py"


def test_pubsub_local_delivery_goes_through_super_emit() -> None:
    mro = SequentialFanoutRedisManager.__mro__
    assert mro.index(AsyncPubSubManager) < mro.index(SequentialFanoutManager), (
        "the inline manager must sit after the pub/sub layer in the MRO"
    )
    for name in ("emit", "_handle_emit"):
        source = inspect.getsource(getattr(AsyncPubSubManager, name))
        assert "super().emit(" in source, (
            f"AsyncPubSubManager.{name} no longer delivers through super().emit;"
            " SequentialFanoutRedisManager would stop fanning out inline"
        )


def test_engineio_send_packet_is_a_public_coroutine() -> None:
    server = socketio.AsyncServer(async_mode="asgi")
    assert inspect.iscoroutinefunction(server.eio.send_packet)
    assert list(inspect.signature(server.eio.send_packet).parameters) == [
        "sid",
        "pkt",
    ]
    assert server.packet_class is not None


class Recorder:
    """Stands in for engine.io's send_packet and records the wire form."""

    def __init__(self, fail_for: str | None = None) -> None:
        self.sent: list[tuple[str, Any]] = []
        self.fail_for = fail_for

    async def __call__(self, eio_sid: str, pkt: eio_packet.Packet) -> None:
        if eio_sid == self.fail_for:
            raise ConnectionResetError("recipient went away mid-send")
        self.sent.append((eio_sid, pkt.encode()))


def _by_recipient(sent: list[tuple[str, Any]]) -> dict[str, list[Any]]:
    """What each recipient got, in the order it got it."""
    out: dict[str, list[Any]] = {}
    for eio_sid, wire in sent:
        out.setdefault(eio_sid, []).append(wire)
    return out


async def _room_of(manager: socketio.AsyncManager, members: int) -> list[str]:
    """Connect fake members straight into the manager and put them in room r."""
    server = socketio.AsyncServer(async_mode="asgi", client_manager=manager)
    sids = []
    for n in range(members):
        sid = await manager.connect(f"eio{n}", "/")
        await manager.enter_room(sid, "/", "r")
        sids.append(sid)
    assert server.manager is manager
    return sids


@pytest.mark.parametrize(
    "data",
    [
        {"text": "hello", "seq": 3},
        ("two", "args"),
        None,
        {"blob": b"\x00\x01binary"},
    ],
    ids=["dict", "tuple", "none", "binary"],
)
async def test_inline_fanout_sends_exactly_what_the_stock_manager_sends(
    data: Any,
) -> None:
    stock, inline = socketio.AsyncManager(), SequentialFanoutManager()
    stock_sids = await _room_of(stock, 4)
    inline_sids = await _room_of(inline, 4)
    stock_rec, inline_rec = Recorder(), Recorder()
    stock.server.eio.send_packet = stock_rec
    inline.server.eio.send_packet = inline_rec

    await stock.emit("line", data, "/", room="r", skip_sid=stock_sids[1])
    await inline.emit("line", data, "/", room="r", skip_sid=inline_sids[1])

    assert _by_recipient(inline_rec.sent) == _by_recipient(stock_rec.sent)
    assert len(inline_rec.sent) == 3 * (2 if data and "blob" in data else 1)
    assert all(eio_sid != "eio1" for eio_sid, _ in inline_rec.sent)


async def test_a_failing_recipient_does_not_stop_the_others() -> None:
    manager = SequentialFanoutManager()
    await _room_of(manager, 5)
    recorder = Recorder(fail_for="eio2")
    manager.server.eio.send_packet = recorder

    await manager.emit("line", {"n": 1}, "/", room="r")

    assert [sid for sid, _ in recorder.sent] == ["eio0", "eio1", "eio3", "eio4"]


async def test_pubsub_messages_are_delivered_by_the_inline_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    manager = SequentialFanoutRedisManager(
        "redis://127.0.0.1:6379/0", channel=f"t-{uuid.uuid4().hex}"
    )
    await _room_of(manager, 2)
    recorder = Recorder()
    manager.server.eio.send_packet = recorder
    calls: list[str] = []
    original = SequentialFanoutManager.emit

    async def spy(self: Any, event: str, *args: Any, **kwargs: Any) -> None:
        calls.append(event)
        await original(self, event, *args, **kwargs)

    monkeypatch.setattr(SequentialFanoutManager, "emit", spy)
    message = {
        "method": "emit",
        "event": "line",
        "data": [{"n": 1}],
        "binary": False,
        "namespace": "/",
        "room": "r",
        "skip_sid": None,
        "callback": None,
        "host_id": "another-node",
    }
    await manager._handle_emit(message)

    assert calls == ["line"]
    assert len(recorder.sent) == 2


def test_make_client_manager_picks_redis_only_when_configured() -> None:
    assert type(make_client_manager(None, None)) is SequentialFanoutManager
    redis = make_client_manager("redis://127.0.0.1:6379/0", None, channel="c")
    assert isinstance(redis, SequentialFanoutRedisManager)
    assert redis.channel == "c"


async def test_eager_task_factory_only_on_312_and_later() -> None:
    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()
    try:
        installed = install_eager_task_factory()
        assert installed is (sys.version_info >= (3, 12))
        if installed:
            started: list[bool] = []

            async def mark() -> None:
                started.append(True)

            task = asyncio.create_task(mark())
            # an eager task runs to its first suspension before create_task returns
            assert started == [True]
            await task
    finally:
        loop.set_task_factory(previous)


@pytest.mark.parametrize("loop_kind", ["asyncio", "uvloop"])
def test_eager_task_factory_works_on_both_event_loops(loop_kind: str) -> None:
    import uvloop

    factory = uvloop.new_event_loop if loop_kind == "uvloop" else None

    async def scenario() -> list[str]:
        order: list[str] = []

        async def child() -> None:
            order.append("child started")
            await asyncio.sleep(0)
            order.append("child finished")

        installed = install_eager_task_factory()
        task = asyncio.get_running_loop().create_task(child())
        order.append("after create_task")
        await task
        order.append(f"installed={installed}")
        return order

    with asyncio.Runner(loop_factory=factory) as runner:
        order = runner.run(scenario())
    if sys.version_info >= (3, 12):
        assert order[:2] == ["child started", "after create_task"]
        assert order[-1] == "installed=True"
    else:
        assert order[:2] == ["after create_task", "child started"]
        assert order[-1] == "installed=False"


# -- real clients over a real server -------------------------------------------


class RelayServer:
    """A bare Socket.IO relay on uvicorn, in this event loop."""

    def __init__(self, manager: socketio.AsyncManager) -> None:
        self.sio = socketio.AsyncServer(
            async_mode="asgi", client_manager=manager, transports=["websocket"]
        )
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

        @self.sio.on("join")
        async def join(sid: str, room: str) -> str:
            await self.sio.enter_room(sid, room)
            return "ok"

        @self.sio.on("say")
        async def say(sid: str, data: dict[str, Any]) -> str:
            await self.sio.emit("line", data, room=data["room"], skip_sid=sid)
            return "ok"

        config = uvicorn.Config(
            socketio.ASGIApp(self.sio),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            ws_per_message_deflate=False,
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RelayServer:
        self.task = asyncio.create_task(self.server.serve())
        for _ in range(200):
            if self.server.started:
                return self
            await asyncio.sleep(0.02)
        raise RuntimeError("uvicorn did not start within 4 s")

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await asyncio.wait_for(self.task, timeout=10)
        await self.sio.shutdown()
        await close_redis_manager(self.sio.manager)


async def close_redis_manager(manager: Any) -> None:
    """Stop a Redis manager's listener and close its connections."""
    listener = getattr(manager, "thread", None)
    if listener is not None:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
    for name in ("pubsub", "redis"):
        conn = getattr(manager, name, None)
        if conn is not None:
            await conn.aclose()


class Member:
    """A real python-socketio client that records the lines it receives."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.client = socketio.AsyncClient(reconnection=False)
        self.lines: list[int] = []
        self.client.on("line", self._on_line)

    async def _on_line(self, data: dict[str, Any]) -> None:
        self.lines.append(data["n"])

    async def join(self, url: str, room: str) -> None:
        await self.client.connect(url, transports=["websocket"])
        assert await self.client.call("join", room, timeout=5) == "ok"


async def _wait_for(predicate: Any, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


@pytest.fixture
async def members() -> AsyncIterator[list[Member]]:
    group = [Member(f"m{n}") for n in range(5)]
    yield group
    for member in group:
        if member.client.connected:
            await member.client.disconnect()


async def _exercise_room(url: str, members: list[Member]) -> None:
    """Join everyone, lose one recipient abruptly, and check every delivery."""
    sender, *receivers = members
    for member in members:
        await member.join(url, "r")

    for n in range(1, 41):
        assert await sender.client.call("say", {"room": "r", "n": n}) == "ok"
    await _wait_for(lambda: all(len(m.lines) >= 40 for m in receivers))

    # drop one recipient without a goodbye: its socket dies under the server
    gone = receivers[1]
    await gone.client.eio.disconnect(abort=True)
    for n in range(41, 81):
        assert await sender.client.call("say", {"room": "r", "n": n}) == "ok"
    alive = [m for m in receivers if m is not gone]
    await _wait_for(lambda: all(len(m.lines) >= 80 for m in alive))
    await asyncio.sleep(0.2)  # room for any duplicate to arrive

    assert sender.lines == [], "skip_sid must keep the sender's own line from it"
    for member in alive:
        assert member.lines == list(range(1, 81)), member.name
    assert gone.lines[:40] == list(range(1, 41))


async def test_every_member_receives_each_line_once_and_in_order(
    members: list[Member],
) -> None:
    async with RelayServer(SequentialFanoutManager()) as relay:
        await _exercise_room(relay.url, members)


async def test_redis_manager_delivers_across_the_bus_once_and_in_order(
    members: list[Member], redis_url: str
) -> None:
    channel = f"accord-fanout-test-{uuid.uuid4().hex}"
    manager = make_client_manager(redis_url, None, channel=channel)
    async with RelayServer(manager) as relay:
        await _exercise_room(relay.url, members)

        # an emit from another process reaches the room through Redis
        outside = socketio.AsyncRedisManager(
            redis_url, channel=channel, write_only=True
        )
        await outside.emit("line", {"n": 81}, room="r", namespace="/")
        alive = [m for m in members[1:] if m.client.connected]
        await _wait_for(lambda: all(m.lines[-1:] == [81] for m in alive))
        await close_redis_manager(outside)
