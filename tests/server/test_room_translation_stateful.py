"""The stateful confidentiality test of the rooms, with translation on.

The same random sequences as test_room_stateful.py (join, admit, deny, move,
send, disconnect, reconnect, replay, knock, release, end), but the seats read
different languages and the server translates every line through the
LibreTranslate look-alike, whose output contains the text it was given. So
every caucus secret also travels in ``translation`` and ``translation.draft``
lines (and through a pivot: ``[de] [en] SECRET…``), and the invariant, that
nothing outside a secret's audience can reach it (sockets, replay, transcript
API, case export, log records at INFO and above), covers them too.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import threading
from pathlib import Path

import uvicorn
from hypothesis import HealthCheck, settings
from sqlalchemy import update

from server.models import Participant
from tests.conftest import make_settings, start_live_server
from tests.server import test_room_stateful as stateful
from tests.server.translation_support import FakeLibreTranslate, libretranslate_env

LANGUAGES = {
    "claimant": "zh-CN",
    "interpreter": "en",
    "respondent": "de",
    "observer": "en",
}
SEEN = {"translations": 0, "drafts": 0}


class TranslatedHarness(stateful.Harness):
    """The rooms' harness, with the look-alike served from the same loop."""

    def __init__(self, fake: FakeLibreTranslate, database_url: str, tmp: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.records: list[str] = []
        self.fake = fake
        self.run(self._serve_fake())
        config = make_settings(
            database_url,
            tmp,
            **libretranslate_env(fake, ACCORD_ROOM_EVENTS_PER_10S="100000"),
        )
        self.live = self.run(start_live_server(config))

    async def _serve_fake(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.fake.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(
            self.fake.app(), lifespan="off", ws="none", log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.task = asyncio.create_task(self.server.serve(sockets=[self.sock]))

    async def _stop_fake(self) -> None:
        self.server.should_exit = True
        await self.task
        self.sock.close()

    def close(self) -> None:
        self.run(self.live.stop())
        self.run(self._stop_fake())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class TranslatedRoomMachine(stateful.RoomMachine):
    """The rooms' machine with every seat reading its own language."""

    def __init__(self) -> None:
        super().__init__()

        async def languages() -> None:
            async with self.h.live.services.db.write() as db:
                for name, language in LANGUAGES.items():
                    await db.execute(
                        update(Participant)
                        .where(Participant.id == self.peers[name].participant_id)
                        .values(language=language)
                    )

        self.h.run(languages())

    def teardown(self) -> None:
        for peer in self.peers.values():
            kinds = [line["kind"] for line in peer.lines]
            SEEN["translations"] += kinds.count("translation")
            SEEN["drafts"] += kinds.count("translation.draft")
        super().teardown()


def test_caucus_secrets_never_leak_through_translations(
    tmp_path: Path, sqlite_template: Path
) -> None:
    db = tmp_path / "accord.db"
    shutil.copy(sqlite_template, db)
    fake = FakeLibreTranslate()
    harness = TranslatedHarness(fake, f"sqlite+aiosqlite:///{db}", tmp_path)
    stateful.HARNESS = harness
    capture = stateful.Capture(harness.records)
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.INFO)
    root.addHandler(capture)
    try:
        machine = TranslatedRoomMachine
        machine.TestCase.settings = settings(
            max_examples=12,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        machine.TestCase().runTest()
    finally:
        root.removeHandler(capture)
        root.setLevel(old_level)
        harness.close()
        stateful.HARNESS = None
    counts = stateful.COUNTS
    print(
        f"stateful rooms with translation: {counts['sequences']} sequences, "
        f"{counts['steps']} steps, {counts['secrets']} caucus secrets, "
        f"{SEEN['translations']} translation and {SEEN['drafts']} draft lines "
        f"received, {len(fake.received)} texts translated"
    )
    assert counts["secrets"] > 0
    assert SEEN["translations"] > 0 and SEEN["drafts"] > 0
    # secrets were translated, so the invariant had translations to search
    assert any("SECRET-" in body["q"] for body in fake.received)
