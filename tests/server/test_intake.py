"""Filing a dispute: the API, validation codes, references, mails, the chain."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from server.auth import Caller
from server.caselog import verify_chain
from server.intake import FilingIn, file_case, format_amount, parse_amount
from server.models import Case, CaseEvent, OutboxMail, Party, Role
from tests.conftest import RunningApp
from tests.server.intake_support import (
    file_via_api,
    filing,
    make_staff,
    staff_client,
)

REFERENCE = re.compile(r"^ACC-20\d\d-\d{6}$")


async def test_filing_creates_the_case_parties_event_and_mails(
    app: RunningApp, client: httpx.AsyncClient
) -> None:
    body = await file_via_api(client)

    assert REFERENCE.match(body["reference"])
    assert body["status"] == "submitted"
    assert body["link"] == f"/p/{body['token']}"
    assert body["link_url"] == "http://127.0.0.1:8000" + body["link"]
    assert body["case_url"] == f"/case/{body['reference']}"

    async with app.services.db.read() as session:
        case = (
            await session.execute(
                select(Case).where(Case.reference == body["reference"])
            )
        ).scalar_one()
        assert case.status.value == "submitted"
        assert case.amount_minor == 120050 and case.currency == "CNY"
        assert case.languages == ["zh-CN", "en"]
        assert case.language_of_record == "zh-CN"
        roles = sorted((p.role.value, p.name) for p in case.parties)
        assert roles == [("claimant", "Li Wei"), ("respondent", "Bright Shop Ltd")]
        events = list(
            (
                await session.execute(
                    select(CaseEvent).where(CaseEvent.case_id == case.id)
                )
            ).scalars()
        )
        assert [e.kind for e in events] == ["case.filed"]
        assert events[0].actor == "public"
        payload = events[0].payload
        assert payload["reference"] == case.reference
        assert {p["role"] for p in payload["parties"]} == {"claimant", "respondent"}
        assert "facts" not in payload and len(payload["facts_sha256"]) == 64
        assert await verify_chain(session, case) == []
        mails = list(
            (
                await session.execute(
                    select(OutboxMail)
                    .where(OutboxMail.case_id == case.id)
                    .order_by(OutboxMail.id)
                )
            ).scalars()
        )

    claimant = next(p for p in case.parties if p.role.value == "claimant")
    respondent = next(p for p in case.parties if p.role.value == "respondent")
    assert body["party_id"] == claimant.id
    by_recipient = {m.recipient: m for m in mails}
    assert set(by_recipient) == {"li.wei@example.org", "orders@bright.example"}

    # the claimant's mail is in Chinese and carries the claimant's own link
    to_claimant = by_recipient["li.wei@example.org"]
    assert to_claimant.language == "zh-CN"
    assert case.reference in to_claimant.subject and "已提交" in to_claimant.subject
    assert body["link_url"] in to_claimant.body

    # the respondent's is in English, says a dispute was filed, with their link
    to_respondent = by_recipient["orders@bright.example"]
    assert to_respondent.language == "en"
    assert "filed with you" in to_respondent.subject
    assert "Li Wei" in to_respondent.body
    respondent_link = app.services.signer.party_link(respondent)
    assert f"/p/{respondent_link}" in to_respondent.body
    assert body["token"] not in to_respondent.body


async def test_a_party_without_email_gets_no_mail(
    app: RunningApp, client: httpx.AsyncClient
) -> None:
    body = await file_via_api(
        client,
        respondents=[
            {"name": "张三", "phone": "+86 139 1111 2222", "language": "zh-CN"}
        ],
    )
    async with app.services.db.read() as session:
        recipients = [
            m.recipient for m in (await session.execute(select(OutboxMail))).scalars()
        ]
    assert recipients == ["li.wei@example.org"]
    assert body["reference"]


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"consent": False}, "consent_required", "consent"),
        ({"category": "murder"}, "unknown_category", "category"),
        ({"amount": "12,50"}, "invalid_amount", "amount"),
        ({"amount": "-5"}, "invalid_amount", "amount"),
        ({"amount": "0"}, "invalid_amount", "amount"),
        ({"amount": "1e5"}, "invalid_amount", "amount"),
        ({"amount": "10000000000000"}, "invalid_amount", "amount"),
        ({"amount": "100.5", "currency": "JPY"}, "amount_precision", "amount"),
        ({"amount": "1.005", "currency": "USD"}, "amount_precision", "amount"),
        ({"amount": "100", "currency": None}, "currency_required", "currency"),
        ({"amount": "100", "currency": "XBT"}, "unsupported_currency", "currency"),
        ({"languages": ["Chinese!"]}, "unsupported_language", "languages.0"),
        ({"respondents": []}, "invalid_input", "respondents"),
        ({"facts": ""}, "invalid_input", "facts"),
        ({"facts": "x" * 20_001}, "invalid_input", "facts"),
        ({"desired_outcome": "   "}, "invalid_input", "desired_outcome"),
        ({"consent": "perhaps"}, "invalid_input", "consent"),
        ({"surprise": 1}, "invalid_input", "surprise"),
    ],
)
async def test_each_invalid_filing_is_refused_with_its_code_and_field(
    app: RunningApp,
    client: httpx.AsyncClient,
    changes: dict[str, Any],
    code: str,
    field: str,
) -> None:
    response = await client.post("/api/cases", json=filing(**changes))

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error.get("field")) == (code, field)
    assert error["message"]
    async with app.services.db.read() as session:
        assert (await session.execute(select(func.count(Case.id)))).scalar() == 0
        assert (await session.execute(select(func.count(OutboxMail.id)))).scalar() == 0


@pytest.mark.parametrize(
    ("contact", "code", "field"),
    [
        ({"name": ""}, "invalid_input", "claimant.name"),
        ({"email": "not-an-address"}, "invalid_input", "claimant.email"),
        ({"phone": "call me"}, "invalid_input", "claimant.phone"),
        ({"language": "fr"}, "unsupported_language", "claimant.language"),
        ({"email": None, "phone": None}, "contact_required", "claimant.email"),
    ],
)
async def test_claimant_contact_errors_name_the_field(
    client: httpx.AsyncClient, contact: dict[str, Any], code: str, field: str
) -> None:
    claimant = {**filing()["claimant"], **contact}
    response = await client.post("/api/cases", json=filing(claimant=claimant))
    error = response.json()["error"]
    assert response.status_code == 422
    assert (error["code"], error["field"]) == (code, field)


async def test_respondent_errors_name_the_respondent(client: httpx.AsyncClient) -> None:
    respondents = [
        {"name": "Shop", "email": "shop@example.org"},
        {"name": "Courier", "email": "LI.WEI@example.org"},
    ]
    response = await client.post("/api/cases", json=filing(respondents=respondents))
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (
        "respondent_is_claimant",
        "respondents.1.email",
    )

    nameless = [{"name": "Shop"}, {"name": ""}]
    response = await client.post("/api/cases", json=filing(respondents=nameless))
    assert response.json()["error"]["field"] == "respondents.1.name"


def test_amounts_are_kept_in_minor_units_of_their_currency() -> None:
    assert parse_amount("1200.50", "cny") == (120050, "CNY")
    assert parse_amount("1200", "JPY") == (1200, "JPY")
    assert parse_amount("1.234", "KWD") == (1234, "KWD")
    assert parse_amount(None, None) == (None, None)
    assert format_amount(120050, "CNY") == "1200.50"
    assert format_amount(1200, "JPY") == "1200"
    assert format_amount(5, "USD") == "0.05"


async def test_concurrent_filings_get_distinct_consecutive_references(
    app: RunningApp,
) -> None:
    filings = [
        FilingIn.model_validate(filing(facts=f"Dispute number {i}")) for i in range(12)
    ]
    results = await asyncio.gather(
        *(file_case(app.services, f, Caller()) for f in filings)
    )

    references = [case.reference for case, _ in results]
    assert len(set(references)) == 12
    numbers = sorted(int(ref.rsplit("-", 1)[1]) for ref in references)
    assert numbers == list(range(1, 13))
    async with app.services.db.read() as session:
        assert (await session.execute(select(func.count(Case.id)))).scalar() == 12
        for case, tokens in results:
            stored = await session.get(Case, case.id)
            assert stored is not None
            assert await verify_chain(session, stored) == []
            assert set(tokens) == {p.id for p in case.parties}


async def test_concurrent_filings_over_http_on_separate_connections(
    app: RunningApp,
) -> None:
    async def one(i: int) -> str:
        async with app.client() as client:
            return (await file_via_api(client, facts=f"Story {i}"))["reference"]

    references = await asyncio.gather(*(one(i) for i in range(8)))
    assert len(set(references)) == 8


async def test_file_case_returns_a_working_link_for_every_party(
    app: RunningApp,
) -> None:
    case, tokens = await file_case(
        app.services,
        FilingIn.model_validate(
            filing(respondents=[{"name": "A Ltd"}, {"name": "B Ltd"}])
        ),
        Caller(),
    )
    assert len(tokens) == 3
    async with app.client() as client:
        for party_id, token in tokens.items():
            response = await client.get(
                f"/api/cases/{case.reference}",
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 200
            assert response.json()["you"]["id"] == party_id


async def test_a_party_sees_the_case_but_not_the_other_sides_contacts(
    client: httpx.AsyncClient,
) -> None:
    filed = await file_via_api(client)

    response = await client.get(
        f"/api/cases/{filed['reference']}",
        headers={"Authorization": f"Bearer {filed['token']}"},
    )
    assert response.status_code == 200
    view = response.json()
    assert view["reference"] == filed["reference"]
    assert view["status"] == "submitted"
    assert view["amount"] == "1200.50" and view["currency"] == "CNY"
    assert view["you"]["role"] == "claimant"
    assert view["you"]["email"] == "li.wei@example.org"
    other = next(p for p in view["parties"] if p["role"] == "respondent")
    assert other["name"] == "Bright Shop Ltd"
    assert other["email"] is None and other["phone"] is None
    assert [(e["kind"], e["actor_role"]) for e in view["timeline"]] == [
        ("case.filed", "claimant")
    ]
    assert view["timeline"][0].get("payload") is None
    assert view["evidence"] == []


async def test_case_read_scope(app: RunningApp, client: httpx.AsyncClient) -> None:
    mine = await file_via_api(client)
    theirs = await file_via_api(client, facts="Another dispute entirely.")

    # nobody: 401; another case's party: 404, not 403 (no probing)
    assert (await client.get(f"/api/cases/{mine['reference']}")).status_code == 401
    response = await client.get(
        f"/api/cases/{theirs['reference']}",
        headers={"Authorization": f"Bearer {mine['token']}"},
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "case_not_found"

    # staff: an officer sees contacts; an unassigned mediator sees nothing
    officer = await make_staff(app, Role.CASE_OFFICER, "officer@example.org")
    mediator = await make_staff(app, Role.MEDIATOR, "mediator@example.org")
    async with staff_client(app, officer) as staff:
        view = (await staff.get(f"/api/cases/{mine['reference']}")).json()
        assert all(p["email"] for p in view["parties"])
    async with staff_client(app, mediator) as staff:
        assert (await staff.get(f"/api/cases/{mine['reference']}")).status_code == 404


async def test_a_revoked_link_no_longer_opens_the_case(
    app: RunningApp, client: httpx.AsyncClient
) -> None:
    filed = await file_via_api(client)
    async with app.services.db.write() as session:
        party = await session.get(Party, filed["party_id"])
        assert party is not None
        party.link_version += 1
    response = await client.get(
        f"/api/cases/{filed['reference']}",
        headers={"Authorization": f"Bearer {filed['token']}"},
    )
    assert response.status_code == 401


async def test_filing_is_throttled_per_address(
    app: RunningApp, client: httpx.AsyncClient
) -> None:
    from server.api.intake import FILINGS_PER_HOUR

    for i in range(FILINGS_PER_HOUR):
        await file_via_api(client, facts=f"Dispute {i}")
    response = await client.post("/api/cases", json=filing())
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"

    # staff filing on someone's behalf is not counted against the address
    officer = await make_staff(app, Role.CASE_OFFICER, "officer@example.org")
    async with staff_client(app, officer) as staff:
        filed = await staff.post("/api/cases", json=filing())
        assert filed.status_code == 201
    async with app.services.db.read() as session:
        event = (
            await session.execute(
                select(CaseEvent).order_by(CaseEvent.id.desc()).limit(1)
            )
        ).scalar_one()
    assert event.actor == f"user:{officer.id}"
