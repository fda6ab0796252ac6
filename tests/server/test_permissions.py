"""Every endpoint × every kind of caller, allowed or refused as the table says.

The endpoints come from ``server.api.base.REGISTRY``, so an endpoint added by
any area is covered without touching this file. Each call is built from the
endpoint's spec: path parameters name real objects of the case under test,
and a body is synthesised from the endpoint's pydantic model. Allowed means
the request got past the permission check (anything but 401/403, and never
``case_not_found`` for a case the caller may see); refused means 401 for the
public, 403 for a role the table does not name, and 404 (or 401/403) for a
case outside the caller's scope.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

import annotated_types
import httpx
import pytest
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from server.api.base import REGISTRY, EndpointSpec
from server.api.openapi import iter_specs
from server.auth import CSRF_COOKIE, PARTY_COOKIE, STAFF_COOKIE
from server.models import CaseStatus, Party, Role, User
from server.permissions import CALLER_KINDS, PERMISSIONS
from tests.conftest import RunningApp
from tests.server.casework_factories import (
    add_evidence,
    make_case,
    make_user,
    parties,
)

CSRF = "csrf-permission-matrix"


@dataclass(frozen=True)
class Kind:
    """A kind of caller in the matrix: its table key and whether case A is theirs."""

    name: str
    table_kind: str
    in_scope: bool


KINDS = (
    Kind("admin", "admin", True),
    Kind("case_officer", "case_officer", True),
    Kind("mediator_assigned", "mediator", True),
    Kind("mediator_unassigned", "mediator", False),
    Kind("interpreter", "interpreter", True),
    Kind("party_of_case", "party", True),
    Kind("party_of_other_case", "party", False),
    Kind("public", "public", False),
)


@dataclass
class World:
    """The objects the calls refer to."""

    reference: str
    users: dict[str, User]
    parties: dict[str, Party]
    evidence_id: int


def expected_allowed(spec: EndpointSpec, kind: Kind) -> bool:
    """What the permission table says about this caller and endpoint."""
    rule = PERMISSIONS[spec.action]
    if kind.table_kind not in rule.allowed:
        return False
    return not rule.scoped or kind.in_scope


# -- building a call from a spec ---------------------------------------------


def fill_path(path: str, world: World) -> str:
    """Replace each {param} with a real id of case A's objects."""
    parts = path.split("/")
    out = []
    for i, part in enumerate(parts):
        if not (part.startswith("{") and part.endswith("}")):
            out.append(part)
            continue
        name = part[1:-1].split(":")[0]
        before = parts[i - 1] if i else ""
        if name in ("ref", "reference", "case_ref"):
            out.append(world.reference)
        elif name == "party_id" or (name == "id" and before == "parties"):
            out.append(str(world.parties["party_of_case"].id))
        elif name == "evidence_id" or (name == "id" and before == "evidence"):
            out.append(str(world.evidence_id))
        elif name == "user_id" or (name == "id" and before == "users"):
            out.append(str(world.users["mediator_assigned"].id))
        elif name == "token":
            out.append("not-a-token")
        else:
            out.append("1")
    return "/".join(out)


def sample(annotation: Any, info: FieldInfo | None, name: str, world: World) -> Any:
    """A value of the annotated type that a validator is likely to accept."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return sample(args[0], info, name, world)
    if origin in (typing.Union, types.UnionType):
        real = [a for a in args if a is not type(None)]
        return sample(real[0], info, name, world) if real else None
    if origin is typing.Literal:
        return args[0]
    if origin in (list, tuple, set, frozenset):
        return []
    if origin is dict:
        return {}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return synthesise(annotation, world)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return next(iter(annotation)).value
    if annotation is bool:
        return True
    if annotation is int:
        if name == "mediator_id":
            return world.users["mediator_assigned"].id
        if name.endswith("party_id"):
            return world.parties["party_of_case"].id
        if name.endswith("evidence_id"):
            return world.evidence_id
        return 1
    if annotation is float:
        return 1.0
    if annotation is datetime:
        return "2026-01-01T00:00:00Z"
    if annotation is date:
        return "2026-01-01"
    if "email" in name or getattr(annotation, "__name__", "") == "EmailStr":
        return "someone@example.org"
    if name in ("language", "lang"):
        return "en"
    if name == "status":
        return "verified"
    if name in ("currency",):
        return "CNY"
    if name == "sha256":
        return "0" * 64
    length = 1
    for meta in info.metadata if info else ():
        if isinstance(meta, annotated_types.MinLen):
            length = max(length, meta.min_length)
    return "x" * max(length, 12)


def synthesise(model: type[BaseModel], world: World) -> dict[str, Any]:
    """A body with every required field of the model filled in."""
    body: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if info.is_required():
            body[key] = sample(info.annotation, info, name, world)
    return body


def request_for(spec: EndpointSpec, world: World) -> dict[str, Any]:
    """The httpx keyword arguments of a minimal call to the endpoint."""
    if spec.method == "GET":
        return {}
    if spec.content_type.startswith("multipart/"):
        return {
            "files": {"file": ("note.txt", b"hello\n", "text/plain")},
            "data": {"csrf_token": CSRF},
        }
    if spec.body is None:
        return {}
    rule = PERMISSIONS[spec.action]
    if not rule.scoped:
        # the role check comes before validation: a 422 shows it was passed
        return {"json": {}}
    # a scoped endpoint checks the case in its handler, after validation, so
    # the body must be valid for an out-of-scope caller to reach that check
    body = synthesise(spec.body, world)
    try:
        spec.body.model_validate(body)
    except ValidationError as exc:
        if any(k.table_kind in rule.allowed and not k.in_scope for k in KINDS):
            pytest.fail(
                f"{spec.method} {spec.path}: cannot synthesise a valid "
                f"{spec.body.__name__} ({exc.errors()[0]['msg']}), so its scope "
                "check cannot be reached; teach sample() this field"
            )
        return {"json": {}}
    return {"json": body}


async def credentials(
    app: RunningApp, world: World, kind: Kind
) -> tuple[dict[str, str], dict[str, str]]:
    """Fresh cookies and headers for a caller (links may have been revoked)."""
    services = app.services
    cookies = {CSRF_COOKIE: CSRF}
    async with services.db.read() as session:
        if kind.name in world.users:
            user = await session.get(User, world.users[kind.name].id)
            assert user is not None
            cookies[STAFF_COOKIE] = services.signer.staff_session(user)
        elif kind.name in world.parties:
            party = await session.get(Party, world.parties[kind.name].id)
            assert party is not None
            cookies[PARTY_COOKIE] = services.signer.party_link(party)
    return cookies, {"X-CSRF-Token": CSRF}


async def build_world(app: RunningApp) -> World:
    services = app.services
    users = {
        "admin": await make_user(services, Role.ADMIN),
        "case_officer": await make_user(services, Role.CASE_OFFICER),
        "mediator_assigned": await make_user(services, Role.MEDIATOR, languages="en"),
        "mediator_unassigned": await make_user(services, Role.MEDIATOR),
        "interpreter": await make_user(services, Role.INTERPRETER),
    }
    case = await make_case(
        services,
        status=CaseStatus.SUBMITTED,
        mediator_id=users["mediator_assigned"].id,
        interpreter_ids=[users["interpreter"].id],
    )
    other = await make_case(services)
    own, _ = await parties(services, case)
    foreign, _ = await parties(services, other)
    item = await add_evidence(services, case, own, b"receipt\n")
    return World(
        reference=case.reference,
        users=users,
        parties={"party_of_case": own, "party_of_other_case": foreign},
        evidence_id=item.id,
    )


# -- the matrix ----------------------------------------------------------------


async def test_every_endpoint_for_every_caller_matches_the_table(
    app: RunningApp,
) -> None:
    world = await build_world(app)
    specs = list(REGISTRY)

    # the registry is exactly what the app serves
    served = {(s.path, s.method) for s in iter_specs(app.starlette.routes)}
    assert {("/api" + s.path, s.method) for s in specs} == served
    assert len(specs) >= 14  # at least case work's and staff's own endpoints
    assert {k.table_kind for k in KINDS} == set(CALLER_KINDS)

    mismatches: list[str] = []
    outcomes: dict[tuple[str, str], tuple[bool, int]] = {}
    for spec in specs:
        path = "/api" + fill_path(spec.path, world)
        for kind in KINDS:
            cookies, headers = await credentials(app, world, kind)
            async with app.client(cookies=cookies) as client:
                response = await client.request(
                    spec.method, path, headers=headers, **request_for(spec, world)
                )
            status = response.status_code
            code = _error_code(response)
            should = expected_allowed(spec, kind)
            table_refuses = kind.table_kind not in PERMISSIONS[spec.action].allowed
            if should:
                ok = status not in (401, 403) and code != "case_not_found"
            elif table_refuses:
                ok = status == (401 if kind.table_kind == "public" else 403) and (
                    code in ("not_authenticated", "forbidden")
                )
            else:  # allowed by role, but case A is not theirs
                ok = status in (401, 403, 404)
            outcomes[(f"{spec.method} {spec.path}", kind.name)] = (should, status)
            if not ok:
                mismatches.append(
                    f"{spec.method} {spec.path} as {kind.name}: expected "
                    f"{'allowed' if should else 'refused'}, got {status} {code}"
                )

    assert not mismatches, "\n".join(mismatches)

    # not vacuous: every pair was checked, and every kind met both answers
    assert len(outcomes) == len(specs) * len(KINDS)
    for kind in KINDS:
        answers = {should for (_, k), (should, _) in outcomes.items() if k == kind.name}
        assert answers == {True, False}, f"{kind.name} is never {answers}"
    statuses = {status for _, status in outcomes.values()}
    assert {200, 401, 403, 404, 422} <= statuses, statuses
    # and some allowed calls got all the way through the handler
    assert sum(1 for should, s in outcomes.values() if should and s < 300) >= 10


def _error_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("code"))
    return None


async def test_csrf_is_required_for_cookie_state_changes(app: RunningApp) -> None:
    world = await build_world(app)
    cookies, _ = await credentials(app, world, KINDS[1])
    path = f"/api/cases/{world.reference}/screening"
    async with app.client(cookies=cookies) as client:
        missing = await client.post(path, json={"decision": "accept"})
        wrong = await client.post(
            path, json={"decision": "accept"}, headers={"X-CSRF-Token": "other"}
        )
        right = await client.post(
            path, json={"decision": "accept"}, headers={"X-CSRF-Token": CSRF}
        )
    assert (missing.status_code, _error_code(missing)) == (403, "csrf_failed")
    assert (wrong.status_code, _error_code(wrong)) == (403, "csrf_failed")
    assert right.status_code == 200
