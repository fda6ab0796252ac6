"""The one role-by-action permission table, used by every HTTP endpoint.

Who may do what is decided here and nowhere else. A row names an action; its
value is the set of caller kinds allowed to attempt it. Object-level rules
(a party sees only their own case, a mediator only the cases assigned to
them) are applied by ``case_scope`` for every action with ``scoped=True``.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.auth import Caller
from server.errors import NotAuthenticated, NotFound, PermissionDenied
from server.models import Case

ADMIN = "admin"
OFFICER = "case_officer"
MEDIATOR = "mediator"
INTERPRETER = "interpreter"
PARTY = "party"
PUBLIC = "public"

CALLER_KINDS = (ADMIN, OFFICER, MEDIATOR, INTERPRETER, PARTY, PUBLIC)
STAFF = frozenset({ADMIN, OFFICER, MEDIATOR, INTERPRETER})
CASEWORK = frozenset({ADMIN, OFFICER})
EVERYONE = frozenset(CALLER_KINDS)


@dataclass(frozen=True)
class Rule:
    """Who may attempt an action, and whether it is limited to their cases."""

    allowed: frozenset[str]
    scoped: bool = False


PERMISSIONS: dict[str, Rule] = {
    # signing in and out
    "auth.session": Rule(EVERYONE),
    # intake and evidence
    "case.file": Rule(EVERYONE),
    "case.read": Rule(frozenset({ADMIN, OFFICER, MEDIATOR, INTERPRETER, PARTY}), True),
    "case.list": Rule(frozenset({ADMIN, OFFICER, MEDIATOR, INTERPRETER})),
    "evidence.upload": Rule(frozenset({ADMIN, OFFICER, PARTY}), True),
    "evidence.read": Rule(frozenset({ADMIN, OFFICER, MEDIATOR, PARTY}), True),
    "evidence.verify": Rule(CASEWORK, True),
    # screening and management
    "case.screen": Rule(CASEWORK, True),
    "case.assign": Rule(CASEWORK, True),
    "case.classify": Rule(CASEWORK, True),
    "case.links": Rule(CASEWORK, True),
    # the claimant answers a request for information through their link
    "case.inform": Rule(frozenset({PARTY}), True),
    # staff administration
    "user.me": Rule(STAFF),
    "user.list": Rule(frozenset({ADMIN, OFFICER})),
    "user.create": Rule(frozenset({ADMIN})),
    "user.update": Rule(frozenset({ADMIN})),
    # mediation sessions
    "session.manage": Rule(frozenset({ADMIN, OFFICER, MEDIATOR}), True),
    "session.join": Rule(
        frozenset({ADMIN, OFFICER, MEDIATOR, INTERPRETER, PARTY}), True
    ),
    "transcript.read": Rule(frozenset({ADMIN, OFFICER, MEDIATOR, PARTY}), True),
    # negotiation, settlement and closure (server/api/negotiation.py)
    "offer.read": Rule(frozenset({ADMIN, OFFICER, MEDIATOR, INTERPRETER, PARTY}), True),
    "bid.read": Rule(frozenset({ADMIN, OFFICER, MEDIATOR, PARTY}), True),
    "opinion.read": Rule(frozenset({ADMIN, OFFICER, MEDIATOR, PARTY}), True),
    "opinion.write": Rule(frozenset({ADMIN, MEDIATOR}), True),
    "agreement.read": Rule(frozenset({ADMIN, OFFICER, MEDIATOR, PARTY}), True),
    "agreement.draft": Rule(frozenset({ADMIN, OFFICER, MEDIATOR}), True),
    "agreement.sign": Rule(frozenset({PARTY}), True),
    "agreement.countersign": Rule(frozenset({MEDIATOR}), True),
    "case.close": Rule(frozenset({ADMIN, OFFICER, MEDIATOR}), True),
    "case.compliance": Rule(frozenset({PARTY}), True),
    "feedback.submit": Rule(frozenset({MEDIATOR, INTERPRETER, PARTY}), True),
    # reports
    "analytics.read": Rule(frozenset({ADMIN, OFFICER})),
    # the translation glossary (server/api/glossary.py)
    "glossary.read": Rule(STAFF),
    "glossary.manage": Rule(CASEWORK),
    "glossary.case_read": Rule(STAFF, True),
    "glossary.case_manage": Rule(STAFF, True),
}


def rule_for(action: str) -> Rule:
    """The rule of an action; an unknown action is a programming error."""
    try:
        return PERMISSIONS[action]
    except KeyError:
        raise KeyError(f"no permission rule for action {action!r}") from None


def check(caller: Caller, action: str) -> None:
    """Raise unless the caller's kind may attempt the action at all."""
    rule = rule_for(action)
    if caller.kind in rule.allowed:
        return
    if caller.kind == PUBLIC:
        raise NotAuthenticated(
            "Sign in, or open your personal case link, to do this.",
            code="not_authenticated",
        )
    raise PermissionDenied(
        f"A {caller.kind.replace('_', ' ')} may not do this ({action}).",
        code="forbidden",
    )


def may_see_case(caller: Caller, case: Case) -> bool:
    """The object-level rule: is this case within the caller's reach?"""
    if caller.kind in CASEWORK:
        return True
    if caller.kind == MEDIATOR and caller.user is not None:
        return case.mediator_id == caller.user.id
    if caller.kind == PARTY and caller.party is not None:
        return caller.party.case_id == case.id
    if caller.kind == INTERPRETER and caller.user is not None:
        return caller.user.id in (case.interpreter_ids or [])
    return False


def case_scope(caller: Caller, action: str, case: Case) -> None:
    """Raise NotFound when a scoped action touches a case outside the caller's reach.

    NotFound rather than PermissionDenied, so that a party cannot probe which
    case references exist.
    """
    check(caller, action)
    if rule_for(action).scoped and not may_see_case(caller, case):
        raise NotFound("No such case.", code="case_not_found")
