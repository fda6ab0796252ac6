"""The case state machine and the case officer's API."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from server import casework
from server.auth import Caller
from server.errors import IllegalTransition, PermissionDenied
from server.models import Case, CaseEvent, CaseStatus, OutboxMail, Role
from tests.conftest import RunningApp
from tests.server.casework_factories import (
    bearer,
    make_case,
    make_user,
    parties,
    staff_client_cookies,
)

S = CaseStatus


async def _outbox(app: RunningApp, case: Case) -> list[OutboxMail]:
    async with app.services.db.read() as session:
        rows = await session.execute(
            select(OutboxMail)
            .where(OutboxMail.case_id == case.id)
            .order_by(OutboxMail.id)
        )
        return list(rows.scalars())


async def _events(app: RunningApp, case: Case) -> list[CaseEvent]:
    async with app.services.db.read() as session:
        rows = await session.execute(
            select(CaseEvent)
            .where(CaseEvent.case_id == case.id)
            .order_by(CaseEvent.seq)
        )
        return list(rows.scalars())


async def test_every_status_pair_is_legal_exactly_as_the_table_says(
    app: RunningApp,
) -> None:
    services = app.services
    officer = Caller(user=await make_user(services, Role.CASE_OFFICER))
    mediator_user = await make_user(services, Role.MEDIATOR)
    checked = legal = 0
    for source, target in itertools.product(CaseStatus, CaseStatus):
        case = await make_case(services, status=source, mediator_id=mediator_user.id)
        claimant = (await parties(services, case))[0]
        edge = casework._EDGES.get((source, target))
        caller = officer
        if edge is not None and casework.OFFICER not in edge.by:
            caller = Caller(party=claimant)
        async with services.db.write() as session:
            row = await session.get(Case, case.id)
            assert row is not None
            if edge is None:
                with pytest.raises(IllegalTransition) as refused:
                    await casework.transition(services, session, row, target, caller)
                assert refused.value.code == "illegal_transition"
                assert refused.value.details == {"from": source, "to": target}
                assert str(source) in refused.value.message
            else:
                event = await casework.transition(
                    services, session, row, target, caller, reason="r"
                )
                assert event.kind == "case.status_changed"
                assert event.payload["from"] == source
                assert event.payload["to"] == target
                legal += 1
        async with services.db.read() as session:
            after = await session.get(Case, case.id)
            assert after is not None
            assert after.status == (target if edge else source)
            assert after.event_count == (2 if edge else 1)
        checked += 1
    assert checked == 49
    assert legal == len(casework.TRANSITIONS) == 9
    # nothing leaves a final status
    assert not any(t.source in casework.FINAL_STATUSES for t in casework.TRANSITIONS)


async def test_each_edge_refuses_callers_it_does_not_name(app: RunningApp) -> None:
    services = app.services
    users = {
        role: Caller(user=await make_user(services, role))
        for role in (Role.ADMIN, Role.CASE_OFFICER, Role.MEDIATOR, Role.INTERPRETER)
    }
    for edge in casework.TRANSITIONS:
        case = await make_case(services, status=edge.source)
        claimant, respondent = await parties(services, case)
        callers = {
            **{str(role): c for role, c in users.items()},
            "party": Caller(party=claimant),
            "respondent": Caller(party=respondent),
            "public": Caller(),
        }
        for name, caller in callers.items():
            may = caller.kind in edge.by and not (
                edge.claimant_only and name == "respondent"
            )
            async with services.db.write() as session:
                row = await session.get(Case, case.id)
                assert row is not None
                if may:
                    await casework.transition(
                        services, session, row, edge.target, caller
                    )
                    await session.rollback()
                    continue
                with pytest.raises(PermissionDenied) as refused:
                    await casework.transition(
                        services, session, row, edge.target, caller
                    )
                assert refused.value.code == "transition_forbidden"


async def test_screening_flow_over_the_api_with_events_and_mail(
    app: RunningApp,
) -> None:
    services = app.services
    officer = await make_user(services, Role.CASE_OFFICER)
    mediator = await make_user(services, Role.MEDIATOR, languages="zh-CN,en")
    case = await make_case(services)
    claimant, respondent = await parties(services, case)
    ref = case.reference

    async with app.client(cookies=staff_client_cookies(services, officer)) as staff:
        csrf = {"X-CSRF-Token": staff.cookies["accord_csrf"]}

        # a reason is required to ask for information
        missing = await staff.post(
            f"/api/cases/{ref}/screening",
            json={"decision": "request_info"},
            headers=csrf,
        )
        assert missing.status_code == 422
        assert missing.json()["error"]["code"] == "invalid_input"

        asked = await staff.post(
            f"/api/cases/{ref}/screening",
            json={"decision": "request_info", "reason": "请上传购买凭证"},
            headers=csrf,
        )
        assert asked.status_code == 200, asked.text
        assert asked.json()["status"] == "info_requested"

        # the respondent may not answer for the claimant; the claimant may
        async with app.client() as anyone:
            wrong = await anyone.post(
                f"/api/cases/{ref}/information",
                json={"information": "x"},
                headers=bearer(services, respondent),
            )
            assert wrong.status_code == 403
            assert wrong.json()["error"]["code"] == "transition_forbidden"
            answered = await anyone.post(
                f"/api/cases/{ref}/information",
                json={"information": "发票已上传"},
                headers=bearer(services, claimant),
            )
            assert answered.status_code == 200, answered.text
            assert answered.json()["status"] == "submitted"

        accepted = await staff.post(
            f"/api/cases/{ref}/screening", json={"decision": "accept"}, headers=csrf
        )
        assert accepted.json()["status"] == "accepted"

        again = await staff.post(
            f"/api/cases/{ref}/screening", json={"decision": "accept"}, headers=csrf
        )
        assert again.status_code == 409
        error = again.json()["error"]
        assert error["code"] == "illegal_transition"
        assert error["details"] == {"from": "accepted", "to": "accepted"}

        graded = await staff.post(
            f"/api/cases/{ref}/classification",
            json={
                "category": "ecommerce",
                "priority": "urgent",
                "complexity": "simple",
            },
            headers=csrf,
        )
        assert graded.status_code == 200, graded.text
        bad_grade = await staff.post(
            f"/api/cases/{ref}/classification",
            json={"category": "ecommerce", "priority": "asap", "complexity": "simple"},
            headers=csrf,
        )
        assert bad_grade.status_code == 422

        not_mediator = await staff.post(
            f"/api/cases/{ref}/assignment",
            json={"mediator_id": officer.id},
            headers=csrf,
        )
        assert not_mediator.status_code == 422
        assert not_mediator.json()["error"]["code"] == "not_a_mediator"

        assigned = await staff.post(
            f"/api/cases/{ref}/assignment",
            json={"mediator_id": mediator.id},
            headers=csrf,
        )
        assert assigned.status_code == 200, assigned.text
        assert assigned.json()["status"] == "assigned"

        detail = (await staff.get(f"/api/cases/{ref}")).json()
        assert detail["mediator_id"] == mediator.id
        assert detail["priority"] == "urgent"
        assert [e["kind"] for e in detail["timeline"]] == [
            "case.filed",
            "case.status_changed",
            "case.status_changed",
            "case.status_changed",
            "case.classified",
            "case.status_changed",
        ]
        assert detail["timeline"][2]["payload"]["information"] == "发票已上传"

    # five changes, each mailed to both parties in their own language
    mails = await _outbox(app, case)
    assert len(mails) == 10
    to_claimant = [m for m in mails if m.recipient == claimant.email]
    assert {m.language for m in to_claimant} == {"zh-CN"}
    assert {m.language for m in mails if m.recipient == respondent.email} == {"en"}
    assert "需补充材料" in to_claimant[0].subject
    assert "请上传购买凭证" in to_claimant[0].body
    assert f"{services.settings.public_url}/p/" in to_claimant[0].body


async def test_a_failed_change_leaves_no_event_and_no_mail(app: RunningApp) -> None:
    services = app.services
    officer = await make_user(services, Role.CASE_OFFICER)
    case = await make_case(services, status=S.CLOSED)
    async with app.client(cookies=staff_client_cookies(services, officer)) as staff:
        csrf = {"X-CSRF-Token": staff.cookies["accord_csrf"]}
        refused = await staff.post(
            f"/api/cases/{case.reference}/classification",
            json={"category": "x", "priority": "low", "complexity": "simple"},
            headers=csrf,
        )
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "case_final"
    assert len(await _events(app, case)) == 1
    assert await _outbox(app, case) == []


async def test_queue_sorts_by_priority_then_age_and_scopes_mediators(
    app: RunningApp,
) -> None:
    services = app.services
    officer = await make_user(services, Role.CASE_OFFICER)
    mine = await make_user(services, Role.MEDIATOR)
    other = await make_user(services, Role.MEDIATOR)
    old_normal = await make_case(services, priority="normal")
    low = await make_case(services, priority="low")
    urgent = await make_case(services, priority="urgent", category="tenancy")
    new_normal = await make_case(
        services, priority="normal", status=S.ASSIGNED, mediator_id=mine.id
    )
    others = await make_case(services, status=S.ASSIGNED, mediator_id=other.id)

    async with app.client(cookies=staff_client_cookies(services, officer)) as staff:
        page = (await staff.get("/api/cases?per_page=4")).json()
        assert page["total"] == 5
        assert [c["reference"] for c in page["items"]] == [
            urgent.reference,
            old_normal.reference,
            new_normal.reference,
            others.reference,
        ]
        second = (await staff.get("/api/cases?per_page=4&page=2")).json()
        assert [c["reference"] for c in second["items"]] == [low.reference]

        only = (await staff.get("/api/cases?category=tenancy")).json()
        assert [c["reference"] for c in only["items"]] == [urgent.reference]
        unassigned = (await staff.get("/api/cases?assigned=no")).json()
        assert unassigned["total"] == 3
        submitted = (await staff.get("/api/cases?status=assigned")).json()
        assert submitted["total"] == 2
        bad = await staff.get("/api/cases?status=nonsense")
        assert bad.status_code == 422

    async with app.client(cookies=staff_client_cookies(services, mine)) as med:
        theirs = (await med.get("/api/cases")).json()
        assert [c["reference"] for c in theirs["items"]] == [new_normal.reference]
        # a case not assigned to them does not exist for them
        hidden = await med.get(f"/api/cases/{urgent.reference}")
        assert hidden.status_code == 404


async def test_suggestions_rank_by_language_then_load(app: RunningApp) -> None:
    services = app.services
    officer = await make_user(services, Role.CASE_OFFICER)
    english_only = await make_user(services, Role.MEDIATOR, languages="en")
    busy_bilingual = await make_user(services, Role.MEDIATOR, languages="zh-CN,en")
    free_bilingual = await make_user(services, Role.MEDIATOR, languages="zh,en")
    await make_user(services, Role.MEDIATOR, languages="zh-CN,en", active=False)
    await make_case(services, status=S.ASSIGNED, mediator_id=busy_bilingual.id)
    case = await make_case(services, status=S.ACCEPTED)

    async with app.client(cookies=staff_client_cookies(services, officer)) as staff:
        ranked = (
            await staff.get(f"/api/cases/{case.reference}/mediator-suggestions")
        ).json()
    assert [r["mediator_id"] for r in ranked] == [
        free_bilingual.id,
        busy_bilingual.id,
        english_only.id,
    ]
    assert ranked[0]["language_matches"] == 2
    assert ranked[1]["open_cases"] == 1


async def test_revoked_link_is_refused_at_once(app: RunningApp) -> None:
    services = app.services
    officer = await make_user(services, Role.CASE_OFFICER)
    case = await make_case(services)
    claimant, _ = await parties(services, case)
    old = bearer(services, claimant)

    async with app.client() as party:
        assert (
            await party.get(f"/api/cases/{case.reference}", headers=old)
        ).status_code == 200

    async with app.client(cookies=staff_client_cookies(services, officer)) as staff:
        csrf = {"X-CSRF-Token": staff.cookies["accord_csrf"]}
        links = (await staff.get(f"/api/cases/{case.reference}/links")).json()
        assert [link["party_id"] for link in links] == [
            p.id for p in await parties(services, case)
        ]
        revoked = await staff.post(
            f"/api/cases/{case.reference}/parties/{claimant.id}/links/revoke",
            headers=csrf,
        )
        assert revoked.status_code == 200, revoked.text
        new_link = revoked.json()["link"]
        assert revoked.json()["link_version"] == 1
        other = await staff.post(
            f"/api/cases/{case.reference}/parties/99999/links/revoke", headers=csrf
        )
        assert other.status_code == 404

    async with app.client() as party:
        refused = await party.get(f"/api/cases/{case.reference}", headers=old)
        assert refused.status_code == 401
        token = new_link.rsplit("/p/", 1)[1]
        fresh = await party.get(
            f"/api/cases/{case.reference}", headers={"Authorization": f"Bearer {token}"}
        )
        assert fresh.status_code == 200

    # the new link was mailed to that party only
    mails = await _outbox(app, case)
    assert [m.recipient for m in mails] == [claimant.email]
    assert new_link in mails[0].body


async def test_party_sees_own_case_without_the_other_sides_contacts(
    app: RunningApp,
) -> None:
    services = app.services
    case = await make_case(services)
    other_case = await make_case(services)
    claimant, respondent = await parties(services, case)
    async with app.client() as party:
        mine = (
            await party.get(
                f"/api/cases/{case.reference}", headers=bearer(services, respondent)
            )
        ).json()
        by_id = {p["id"]: p for p in mine["parties"]}
        assert by_id[respondent.id]["email"] == respondent.email
        assert by_id[claimant.id]["email"] is None
        assert all(e["actor"] in ("public", "party", "user") for e in mine["timeline"])
        assert all(e["payload"] is None for e in mine["timeline"])
        theirs = await party.get(
            f"/api/cases/{other_case.reference}", headers=bearer(services, respondent)
        )
        assert theirs.status_code == 404
