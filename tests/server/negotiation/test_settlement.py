"""Agreement integrity and signing, the PDF, closure rules and feedback."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select, update

from server import negotiation as n
from server.caselog import verify_chain
from server.models import (
    AgreementVersion,
    Case,
    CaseEvent,
    Feedback,
    FeedbackReceipt,
    OutboxMail,
)
from tests.conftest import unavailable
from tests.server.negotiation.conftest import (
    CLAIMANT_NAME,
    MEDIATOR_NAME,
    RESPONDENT_NAME,
    As,
    World,
)

TERMS = [
    {
        "type": "monetary",
        "amount_minor": 250000,
        "currency": "CNY",
        "due_date": "2026-07-31",
        "instalments": 2,
    },
    {"type": "obligation", "text": "Collect the broken sofa", "deadline": "2026-07-15"},
]


async def accepted_offer(app: Any, world: World) -> int:
    """An offer by the respondent, accepted by the claimant, through the services."""
    async with app.services.db.write() as db:
        lines = await n.make_offer(db, world.respondent(), {"terms": TERMS})
        offer_id = lines[0].content["offer"]["id"]
    async with app.services.db.write() as db:
        await n.accept_offer(db, world.claimant(), {"offer_id": offer_id})
    return int(offer_id)


async def drafted(app: Any, world: World, actors: dict[str, As]) -> dict[str, Any]:
    await accepted_offer(app, world)
    response = await actors["mediator"].post(
        f"/api/cases/{world.reference}/agreement", json={}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def sign_body(name: str, sha: str, consent: bool = True) -> dict[str, Any]:
    return {"typed_name": name, "consent": consent, "sha256": sha}


async def sign_all(world: World, actors: dict[str, As], sha: str) -> dict[str, Any]:
    url = f"/api/cases/{world.reference}/agreement"
    for who, name in (("claimant", CLAIMANT_NAME), ("respondent", RESPONDENT_NAME)):
        r = await actors[who].post(f"{url}/sign", json=sign_body(name, sha))
        assert r.status_code == 200, r.text
    r = await actors["mediator"].post(
        f"{url}/countersign", json=sign_body(MEDIATOR_NAME, sha)
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_agreement_in_both_languages_names_the_language_of_record(
    app: Any, world: World, actors: dict[str, As]
) -> None:
    doc = await drafted(app, world, actors)
    assert doc["languages"] == ["en", "zh-CN"]
    assert doc["language_of_record"] == "zh-CN"
    assert (
        "The Chinese (Simplified) text is the language of record" in doc["texts"]["en"]
    )
    assert "以简体中文文本为记录语言文本" in doc["texts"]["zh-CN"]
    assert (
        "CNY 2,500.00" in doc["texts"]["en"] and CLAIMANT_NAME in doc["texts"]["zh-CN"]
    )
    assert len(doc["sha256"]) == 64 and doc["intact"] and doc["signatures"] == []


async def test_sign_countersign_complete_and_chain(
    app: Any, world: World, actors: dict[str, As]
) -> None:
    doc = await drafted(app, world, actors)
    url = f"/api/cases/{world.reference}/agreement"
    early = await actors["mediator"].post(
        f"{url}/countersign", json=sign_body(MEDIATOR_NAME, doc["sha256"])
    )
    assert early.json()["error"]["code"] == "parties_not_signed"
    no_consent = await actors["claimant"].post(
        f"{url}/sign", json=sign_body(CLAIMANT_NAME, doc["sha256"], consent=False)
    )
    assert no_consent.json()["error"]["code"] == "consent_required"
    wrong_name = await actors["claimant"].post(
        f"{url}/sign", json=sign_body("Somebody Else", doc["sha256"])
    )
    assert wrong_name.json()["error"]["code"] == "name_mismatch"
    stale = await actors["claimant"].post(
        f"{url}/sign", json=sign_body(CLAIMANT_NAME, "0" * 64)
    )
    assert stale.json()["error"]["code"] == "agreement_changed"
    forbidden = await actors["mediator"].post(
        f"{url}/sign", json=sign_body(MEDIATOR_NAME, doc["sha256"])
    )
    assert forbidden.status_code == 403

    done = await sign_all(world, actors, doc["sha256"])
    assert done["complete"] and done["status"] == "completed"
    assert [s["role"] for s in done["signatures"]] == [
        "claimant",
        "respondent",
        "mediator",
    ]
    twice = await actors["claimant"].post(
        f"{url}/sign", json=sign_body(CLAIMANT_NAME, doc["sha256"])
    )
    assert twice.status_code == 409

    async with app.services.db.read() as db:
        case = await db.get(Case, world.case_id)
        assert case is not None
        kinds = [
            e.kind
            for e in (
                await db.execute(select(CaseEvent).order_by(CaseEvent.seq))
            ).scalars()
        ]
        assert await verify_chain(db, case) == []
        completed = (
            await db.execute(
                select(CaseEvent).where(CaseEvent.kind == "agreement.completed")
            )
        ).scalar_one()
        assert completed.payload["sha256"] == doc["sha256"]
    assert kinds == [
        "offer.accepted",
        "agreement.drafted",
        "agreement.signed",
        "agreement.signed",
        "agreement.signed",
        "agreement.completed",
    ]


async def test_one_changed_byte_after_signing_reads_as_unsigned(
    app: Any, world: World, actors: dict[str, As]
) -> None:
    doc = await drafted(app, world, actors)
    await sign_all(world, actors, doc["sha256"])
    async with app.services.db.write() as db:
        version = (await db.execute(select(AgreementVersion))).scalar_one()
        text = version.canonical
        # change one byte of the stored text: 2,500.00 becomes 2,900.00
        tampered = text.replace("2,500.00", "2,900.00", 1)
        assert tampered != text
        await db.execute(
            update(AgreementVersion)
            .where(AgreementVersion.id == version.id)
            .values(canonical=tampered)
        )
    after = (
        await actors["claimant"].get(f"/api/cases/{world.reference}/agreement")
    ).json()
    assert after["intact"] is False
    assert after["signatures"] == [] and after["complete"] is False
    again = await actors["claimant"].post(
        f"/api/cases/{world.reference}/agreement/sign",
        json=sign_body(CLAIMANT_NAME, doc["sha256"]),
    )
    assert again.json()["error"]["code"] == "agreement_tampered"


async def test_a_change_after_the_first_signature_voids_it(
    app: Any, world: World, actors: dict[str, As]
) -> None:
    doc = await drafted(app, world, actors)
    url = f"/api/cases/{world.reference}/agreement"
    signed = await actors["claimant"].post(
        f"{url}/sign", json=sign_body(CLAIMANT_NAME, doc["sha256"])
    )
    assert len(signed.json()["signatures"]) == 1
    revised = await actors["mediator"].put(
        url, json={"additional": "Each side bears its own costs."}
    )
    body = revised.json()
    assert body["version"] == 2 and body["signatures"] == []
    assert body["sha256"] != doc["sha256"]
    assert "Each side bears its own costs." in body["texts"]["en"]
    old = await actors["respondent"].post(
        f"{url}/sign", json=sign_body(RESPONDENT_NAME, doc["sha256"])
    )
    assert old.json()["error"]["code"] == "agreement_changed"
    final = await sign_all(world, actors, body["sha256"])
    assert final["complete"]


async def test_the_pdf_holds_the_parties_chinese_names(
    app: Any, world: World, actors: dict[str, As], tmp_path: Path
) -> None:
    if shutil.which("pdftotext") is None:
        unavailable("pdftotext", "apt-get install poppler-utils")
    doc = await drafted(app, world, actors)
    await sign_all(world, actors, doc["sha256"])
    response = await actors["claimant"].get(
        f"/api/cases/{world.reference}/agreement.pdf"
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "agreement.pdf"
    pdf.write_bytes(response.content)
    result = await asyncio.to_thread(
        subprocess.run,
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    text = result.stdout
    assert CLAIMANT_NAME in text and RESPONDENT_NAME in text
    assert "和解协议" in text and "SETTLEMENT AGREEMENT" in text
    assert doc["sha256"][:32] in text.replace("\n", "")


async def test_closure_rules(app: Any, world: World, actors: dict[str, As]) -> None:
    url = f"/api/cases/{world.reference}/closure"
    party = await actors["claimant"].post(url, json={"outcome": "withdrawn"})
    assert party.status_code == 403
    settled = await actors["mediator"].post(url, json={"outcome": "settled"})
    assert settled.json()["error"]["code"] == "agreement_not_completed"
    no_reason = await actors["mediator"].post(url, json={"outcome": "not_settled"})
    assert no_reason.json()["error"]["code"] == "reason_required"
    no_report = await actors["officer"].post(url, json={"outcome": "referred"})
    assert no_report.json()["error"]["code"] == "report_required"
    bad = await actors["mediator"].post(url, json={"outcome": "won"})
    assert bad.status_code == 422

    doc = await drafted(app, world, actors)
    await sign_all(world, actors, doc["sha256"])
    closed = await actors["mediator"].post(url, json={"outcome": "settled"})
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    again = await actors["officer"].post(url, json={"outcome": "withdrawn"})
    assert again.json()["error"]["code"] == "case_already_closed"

    async with app.services.db.read() as db:
        mails = [
            (m.recipient, m.language, m.subject)
            for m in (await db.execute(select(OutboxMail))).scalars()
        ]
        case = await db.get(Case, world.case_id)
        assert case is not None and case.closure_outcome == "settled"
        assert case.closed_at is not None
    assert ("claimant@example.org", "zh-CN", f"案件 {world.reference} 已结案") in mails
    assert (
        "respondent@example.org",
        "en",
        f"Case {world.reference} is closed",
    ) in mails

    # a closed case is read-only: room actions, opinion and agreement refused
    async with app.services.db.write() as db:
        with pytest.raises(Exception) as caught:
            await n.make_offer(db, world.claimant(), {"terms": TERMS})
    assert getattr(caught.value, "code", None) == "case_closed"
    opinion = await actors["mediator"].put(
        f"/api/cases/{world.reference}/opinion",
        json={"language": "en", "facts": "f", "analysis": "a", "recommendation": "r"},
    )
    assert opinion.json()["error"]["code"] == "case_closed"
    revise = await actors["mediator"].put(
        f"/api/cases/{world.reference}/agreement", json={"additional": "x"}
    )
    assert revise.json()["error"]["code"] == "case_closed"
    # ...except compliance follow-up and feedback
    paid = await actors["claimant"].post(
        f"/api/cases/{world.reference}/compliance", json={"note": "First instalment"}
    )
    assert paid.status_code == 201
    fb = await actors["claimant"].post(
        f"/api/cases/{world.reference}/feedback",
        json={
            "satisfaction": 5,
            "fairness": 4,
            "ease_of_use": 4,
            "would_use_again": True,
        },
    )
    assert fb.status_code == 201


async def test_feedback_once_per_participant_and_anonymous(
    app: Any, world: World, actors: dict[str, As]
) -> None:
    url = f"/api/cases/{world.reference}/feedback"
    answer = {
        "satisfaction": 2,
        "fairness": 3,
        "ease_of_use": 5,
        "would_use_again": False,
        "comment": "Slow but fair.",
    }
    early = await actors["claimant"].post(url, json=answer)
    assert early.json()["error"]["code"] == "case_not_closed"
    closed = await actors["officer"].post(
        f"/api/cases/{world.reference}/closure",
        json={"outcome": "not_settled", "reason": "No common ground."},
    )
    assert closed.status_code == 200
    compliance = await actors["claimant"].post(
        f"/api/cases/{world.reference}/compliance", json={}
    )
    assert compliance.json()["error"]["code"] == "nothing_to_comply_with"

    for who in ("claimant", "respondent", "mediator"):
        assert (await actors[who].post(url, json=answer)).status_code == 201
    second = await actors["claimant"].post(url, json=answer)
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "feedback_already_given"
    officer = await actors["officer"].post(url, json=answer)
    assert officer.status_code == 403
    bad = await actors["respondent"].post(url, json={**answer, "fairness": 6})
    assert bad.status_code == 422

    # a receipt holds only its keyed digest: no order to match it to a row
    assert {c.key for c in inspect(FeedbackReceipt).columns} == {"digest"}
    columns = {c.key for c in inspect(Feedback).columns}
    assert not {"party_id", "user_id", "participant_id", "created_at"} & columns
    async with app.services.db.read() as db:
        rows = [
            {c: getattr(r, c) for c in columns}
            for r in (await db.execute(select(Feedback))).scalars()
        ]
    assert len(rows) == 3
    flat = repr(rows)
    for name in (CLAIMANT_NAME, RESPONDENT_NAME, MEDIATOR_NAME, "example.org"):
        assert name not in flat
    assert sorted(r["respondent_kind"] for r in rows) == ["mediator", "party", "party"]

    summary = (await actors["officer"].get("/api/analytics/feedback")).json()
    assert summary["overall"]["count"] == 3
    assert summary["overall"]["satisfaction"] == 2.0
    assert summary["by_outcome"]["not_settled"]["would_use_again"] == 0.0
    denied = await actors["claimant"].get("/api/analytics/feedback")
    assert denied.status_code == 403


async def test_opinion_draft_edit_issue(
    app: Any, world: World, actors: dict[str, As]
) -> None:
    url = f"/api/cases/{world.reference}/opinion"
    template = (await actors["mediator"].get(url)).json()
    assert (
        template["status"] == "template"
        and template["facts"] == "The sofa arrived broken."
    )
    assert (await actors["claimant"].get(url)).status_code == 404
    body = {
        "language": "zh-CN",
        "facts": template["facts"],
        "analysis": "分析",
        "recommendation": "退款 2,000 元",
    }
    saved = await actors["mediator"].put(url, json=body)
    assert saved.json()["status"] == "draft"
    edited = await actors["mediator"].put(
        url, json={**body, "analysis": "修改后的分析"}
    )
    assert edited.json()["id"] == saved.json()["id"]
    party_put = await actors["claimant"].put(url, json=body)
    assert party_put.status_code == 403
    issued = await actors["mediator"].post(f"{url}/issue")
    assert issued.json()["status"] == "issued" and len(issued.json()["sha256"]) == 64
    seen = (await actors["claimant"].get(url)).json()
    assert seen["analysis"] == "修改后的分析"
    async with app.services.db.read() as db:
        event = (
            await db.execute(
                select(CaseEvent).where(CaseEvent.kind == "opinion.issued")
            )
        ).scalar_one()
        assert event.payload["sha256"] == issued.json()["sha256"]
        mails = list((await db.execute(select(OutboxMail.language))).scalars())
    assert sorted(mails) == ["en", "zh-CN"]
