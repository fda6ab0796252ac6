"""The room page's translation modules: their texts, and what the page embeds;
and the ``none`` backend, with which the room works exactly as before."""

from __future__ import annotations

import json
import re
from pathlib import Path

from server import i18n
from server.auth import PARTY_COOKIE
from server.models import MediationSession, Party
from tests.conftest import LiveServer, RunningApp
from tests.server.roomkit import seed, settle, wait_for
from tests.server.translation_support import close_all, seated_room

ROOT = Path(__file__).resolve().parents[2]
JS = ROOT / "web" / "static" / "js" / "translation"
# keys built from a value: every value they can take
COMPUTED = {
    "translation.mark.": ("machine", "approved", "interpreter"),
    "translation.mode.": ("review_before_release", "correct_after"),
}


def test_every_translation_text_the_page_uses_exists_in_both_catalogues() -> None:
    used: set[str] = set()
    for path in JS.glob("*.js"):
        source = path.read_text(encoding="utf-8")
        used.update(
            re.findall(
                r"""\bt\(\s*["'](translation\.[a-z0-9_.]*[a-z0-9_])["']""", source
            )
        )
        for prefix in re.findall(r"\bt\(\s*`(translation\.[a-z_.]*)\$\{", source):
            used.update(prefix + value for value in COMPUTED[prefix])
    assert len(used) > 30
    english = i18n.catalogue("en")
    chinese = i18n.catalogue("zh-CN")
    keys = {k for k in english if k.startswith("translation.")}
    assert keys == {k for k in chinese if k.startswith("translation.")}
    assert sorted(used - keys) == []
    # every "unavailable" reason the protocol names has a text
    for reason in ("timeout", "backend_error", "backend_unavailable", "busy"):
        assert f"translation.reason.{reason}" in keys


async def _page_data(app: RunningApp) -> dict[str, object]:
    world = await seed(app.services)
    async with app.services.db.write() as db:
        row = MediationSession(case_id=world.case_id, title="T")
        db.add(row)
        await db.flush()
        session_id = row.id
        party = await db.get(Party, world.claimant)
        assert party is not None
        cookie = app.services.signer.party_link(party)
    async with app.client(cookies={PARTY_COOKIE: cookie}) as client:
        html = (await client.get(f"/room/{session_id}")).text
    match = re.search(
        r'<script type="application/json" id="room-data">(.*?)</script>', html, re.S
    )
    assert match
    data: dict[str, object] = json.loads(match.group(1))
    return data


async def test_without_a_backend_the_page_says_translation_is_off(
    app: RunningApp,
) -> None:
    data = await _page_data(app)
    assert data["translation"] == {"enabled": False, "languages": []}
    assert "room_translation" not in app.services.extras
    hub = app.services.extras["room_hub"]
    assert hub.observers == []  # nothing runs per line


async def test_without_a_backend_lines_stay_in_their_original(
    live_server: LiveServer,
) -> None:
    setup = await seated_room(
        live_server, {"claimant": "zh-CN", "respondent": "en"}, interpreter=True
    )
    cla, res = setup["peers"]["claimant"], setup["peers"]["respondent"]
    try:
        ack = await cla.call("chat.send", {"client_id": "n1", "text": "你好"})
        assert ack["ok"]
        await wait_for(lambda: "你好" in res.texts())
        await settle(0.5)
        kinds = {line["kind"] for line in res.lines}
        assert not any(kind.startswith("translation") for kind in kinds)
        # the language can still be declared, and the interpreter can still
        # give a human translation of a line they handle
        changed = await res.call(
            "translation.language", {"client_id": "n2", "language": "de"}
        )
        assert changed["ok"]
        human = await setup["peers"]["interpreter"].call(
            "translation.correct",
            {"client_id": "n3", "seq": ack["seq"], "target": "de", "text": "Hallo"},
        )
        assert human["ok"], human
        await wait_for(lambda: any(line["kind"] == "translation" for line in res.lines))
    finally:
        await close_all(setup)
