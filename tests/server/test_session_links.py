"""The case pages lead into the live room: staff open sessions, parties join."""

from __future__ import annotations

from server.models import CaseStatus, Role
from tests.conftest import RunningApp
from tests.server.casework_factories import (
    make_case,
    make_user,
    parties,
    staff_client_cookies,
)


async def test_officer_opens_a_session_and_each_party_sees_the_way_in(
    app: RunningApp,
) -> None:
    services = app.services
    officer = await make_user(services, Role.CASE_OFFICER)
    mediator = await make_user(services, Role.MEDIATOR, languages="en")
    interpreter = await make_user(services, Role.INTERPRETER, languages="zh-CN,en")
    case = await make_case(
        services,
        status=CaseStatus.ASSIGNED,
        mediator_id=mediator.id,
        interpreter_ids=[interpreter.id],
    )
    other = await make_case(services, status=CaseStatus.ASSIGNED)
    claimant, respondent = await parties(services, case)
    (stranger, _) = await parties(services, other)

    async with app.client(cookies=staff_client_cookies(services, officer)) as staff:
        before = await staff.get(f"/staff/cases/{case.reference}")
        assert 'id="session-form"' in before.text
        assert 'class="session-row"' not in before.text

        csrf = {"X-CSRF-Token": staff.cookies["accord_csrf"]}
        made = await staff.post(
            f"/api/cases/{case.id}/sessions",
            json={"title": "Joint session", "open": True},
            headers=csrf,
        )
        assert made.status_code == 201, made.text
        session = made.json()
        seats = {(p["kind"], p["attached_party_id"]) for p in session["participants"]}
        # the interpreter sits with the side the mediator does not speak for
        assert seats == {
            ("mediator", None),
            ("party", None),
            ("interpreter", claimant.id),
        }

        after = await staff.get(f"/staff/cases/{case.reference}")
        assert f'data-session-id="{session["id"]}"' in after.text
        assert f'href="/room/{session["id"]}"' in after.text

    async with app.client(
        cookies=staff_client_cookies(services, mediator)
    ) as mediator_browser:
        page = await mediator_browser.get(f"/staff/cases/{case.reference}")
        assert f'href="/room/{session["id"]}/console"' in page.text

    for party in (claimant, respondent):
        async with app.client() as browser:
            link = services.signer.party_link(party)
            assert (await browser.get(f"/p/{link}")).status_code == 303
            own = await browser.get(f"/case/{case.reference}")
            assert f'href="/room/{session["id"]}"' in own.text
    async with app.client() as browser:
        assert (
            await browser.get(f"/p/{services.signer.party_link(stranger)}")
        ).status_code == 303
        theirs = await browser.get(f"/case/{other.reference}")
        assert "/room/" not in theirs.text

    # an ended session no longer invites anyone
    async with app.client(cookies=staff_client_cookies(services, mediator)) as m:
        ended = await m.post(
            f"/api/sessions/{session['id']}/end",
            headers={"X-CSRF-Token": m.cookies["accord_csrf"]},
        )
        assert ended.status_code == 200, ended.text
    async with app.client() as browser:
        await browser.get(f"/p/{services.signer.party_link(claimant)}")
        own = await browser.get(f"/case/{case.reference}")
        assert f'href="/room/{session["id"]}"' not in own.text
