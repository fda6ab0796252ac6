"""The room page's HTML, its embedded data and its catalogue coverage."""

from __future__ import annotations

import json
import re
from pathlib import Path

from server import i18n
from server.auth import PARTY_COOKIE, STAFF_COOKIE
from server.models import EvidenceItem, MediationSession, Party, User
from tests.conftest import RunningApp
from tests.server.roomkit import seed

ROOT = Path(__file__).resolve().parents[2]
JS = ROOT / "web" / "static" / "js" / "room"
TEMPLATE = ROOT / "web" / "templates" / "room.html"


def _embedded(html: str, element_id: str) -> dict[str, object]:
    match = re.search(
        rf'<script type="application/json" id="{element_id}">(.*?)</script>',
        html,
        re.S,
    )
    assert match, f"no #{element_id} block"
    data: dict[str, object] = json.loads(match.group(1))
    return data


async def _session(app: RunningApp) -> tuple[int, int, int, int]:
    services = app.services
    world = await seed(services)
    async with services.db.write() as db:
        row = MediationSession(case_id=world.case_id, title="T")
        db.add(row)
        db.add_all(
            [
                EvidenceItem(
                    case_id=world.case_id,
                    party_id=world.claimant,
                    original_name="receipt.pdf",
                    storage_name=f"s-{world.case_id}-1",
                    content_type="application/pdf",
                    size=10,
                    sha256="0" * 64,
                    private=False,
                ),
                EvidenceItem(
                    case_id=world.case_id,
                    party_id=world.respondent,
                    original_name="respondent-private-notes.pdf",
                    storage_name=f"s-{world.case_id}-2",
                    content_type="application/pdf",
                    size=10,
                    sha256="1" * 64,
                    private=True,
                ),
            ]
        )
        await db.flush()
        return row.id, world.claimant, world.respondent, world.mediator


async def test_party_gets_room_page_with_data_and_no_inline_script(
    app: RunningApp,
) -> None:
    session_id, claimant, _, _ = await _session(app)
    async with app.services.db.read() as db:
        party = await db.get(Party, claimant)
        assert party is not None
        cookie = app.services.signer.party_link(party)
    async with app.client(cookies={PARTY_COOKIE: cookie}) as client:
        response = await client.get(f"/room/{session_id}?lang=zh-CN")

    assert response.status_code == 200
    html = response.text
    data = _embedded(html, "room-data")
    assert data["session_id"] == session_id
    assert data["console"] is False
    assert [p["role"] for p in data["parties"]] == ["claimant", "respondent"]  # type: ignore[index,union-attr]
    # the other side's private evidence is never offered to this party
    assert [e["name"] for e in data["evidence"]] == ["receipt.pdf"]  # type: ignore[index,union-attr]
    catalogue = _embedded(html, "i18n")
    assert catalogue["room.banner.caucus"] == "私下会谈：只有你和调解员能看到这里的内容"
    # the CSP forbids inline scripts: every executable script has a src
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert 'type="application/json"' in tag or "src=" in tag, tag
    for mount in ("media", "negotiation"):
        assert f'data-mount="{mount}"' in html
    assert 'aria-live="polite"' in html


async def test_mediator_console_path_and_refusals(app: RunningApp) -> None:
    session_id, _, respondent, mediator = await _session(app)
    async with app.services.db.read() as db:
        user = await db.get(User, mediator)
        assert user is not None
        staff = app.services.signer.staff_session(user)
    async with app.client(cookies={STAFF_COOKIE: staff}) as client:
        console = await client.get(f"/room/{session_id}/console")
        missing = await client.get("/room/999999")
    assert console.status_code == 200
    data = _embedded(console.text, "room-data")
    assert data["console"] is True
    # staff may offer any evidence item of the case
    assert len(data["evidence"]) == 2  # type: ignore[arg-type]
    assert missing.status_code == 404
    assert "room-data" not in missing.text

    async with app.client() as anonymous:
        signed_out = await anonymous.get(f"/room/{session_id}")
    assert signed_out.status_code == 401
    assert "room.js" not in signed_out.text and "room-data" not in signed_out.text

    # a party of another case cannot even learn that the session exists
    other_session, other_claimant, _, _ = await _session(app)
    async with app.services.db.read() as db:
        outsider = await db.get(Party, other_claimant)
        assert outsider is not None
        cookie = app.services.signer.party_link(outsider)
    async with app.client(cookies={PARTY_COOKIE: cookie}) as client:
        foreign = await client.get(f"/room/{session_id}")
        own = await client.get(f"/room/{other_session}")
    assert foreign.status_code == 404
    assert own.status_code == 200
    assert respondent != other_claimant


def _protocol_error_codes() -> set[str]:
    """Every error code docs/protocol.md says a client can meet."""
    text = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    codes: set[str] = set()
    for paragraph in re.split(r"\n\s*\n", text):
        if re.search(r"Errors:|error codes|`data\.code`", paragraph):
            tail = re.split(r"Errors:|error codes|`data\.code`", paragraph, maxsplit=1)[
                1
            ]
            # the list ends with its sentence
            tail = re.split(r"\.\s", tail, maxsplit=1)[0]
            codes.update(re.findall(r"`([a-z]+(?:_[a-z]+)+|[a-z]+)`", tail))
    return codes


def test_every_protocol_error_code_has_a_message_in_both_languages() -> None:
    codes = _protocol_error_codes()
    assert {"wrong_room", "not_in_lobby", "token_expired", "session_locked"} <= codes
    for language in i18n.LANGUAGES:
        catalogue = i18n.catalogue(language)
        missing = sorted(
            code
            for code in codes
            if f"room.error.{code}" not in catalogue
            and f"room.screen.{code}.title" not in catalogue
        )
        assert missing == [], (language, missing)


def test_every_room_text_the_page_uses_exists_in_both_catalogues() -> None:
    used: set[str] = set()
    for path in [*JS.glob("*.js"), TEMPLATE]:
        source = path.read_text(encoding="utf-8")
        used.update(
            re.findall(
                r"""(?<![\w.])t\(\s*["'](room\.[a-z0-9_.]*[a-z0-9_])["']""", source
            )
        )
    assert len(used) > 60
    english = i18n.catalogue("en")
    chinese = i18n.catalogue("zh-CN")
    room_keys = {k for k in english if k.startswith("room.")}
    assert room_keys == {k for k in chinese if k.startswith("room.")}
    assert sorted(used - room_keys) == []
