"""Filing a dispute: validation, the case reference, the parties and their links.

``file_case`` is the one way a case comes into existence (the JSON API, the
``accord demo`` command and the tests all call it). Everything it writes (the
case, its parties, the ``case.filed`` event and the confirmation mails) goes
into one write transaction, so a filing either happens completely or not at
all.
"""

from __future__ import annotations

import hashlib
import logging
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from server import i18n
from server.auth import Caller
from server.caselog import append_event
from server.errors import InvalidInput, NotFound
from server.models import Case, CaseStatus, Party, PartyRole, utcnow
from server.models.intake import ReferenceCounter
from server.notify import enqueue_mail
from server.services import Services

logger = logging.getLogger(__name__)

REFERENCE_PREFIX = "ACC"

# the dispute categories a claimant can choose from; the case officer may
# reclassify later (server/casework.py)
CATEGORIES = ("goods", "services", "tenancy", "employment", "other")

# ISO 4217 codes accepted for a claimed amount, with their minor-unit digits
# (ISO 4217 table A.1): 100 fen to the yuan, no minor unit for the yen
CURRENCIES: dict[str, int] = {
    "CNY": 2,
    "HKD": 2,
    "MOP": 2,
    "TWD": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "CHF": 2,
    "CAD": 2,
    "AUD": 2,
    "NZD": 2,
    "SGD": 2,
    "MYR": 2,
    "THB": 2,
    "PHP": 2,
    "IDR": 2,
    "INR": 2,
    "AED": 2,
    "SAR": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
    "CZK": 2,
    "BRL": 2,
    "MXN": 2,
    "ZAR": 2,
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
    "KWD": 3,
    "BHD": 3,
}

# at most 10^15 minor units: far above any mediated claim, far below BIGINT
MAX_AMOUNT_MINOR = 10**15

# the languages the interface and the mails are written in
UI_LANGUAGES = i18n.LANGUAGES

_AMOUNT = re.compile(r"^[0-9]{1,16}(\.[0-9]{1,6})?$")
_LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")

Text200 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class ContactIn(BaseModel):
    """A party as the claimant describes them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    email: EmailStr | None = Field(default=None, max_length=320)
    phone: str | None = Field(
        default=None, max_length=40, pattern=r"^\+?[0-9][0-9 ()\-.]{3,38}$"
    )
    organisation: Text200 | None = None
    language: str = Field(default="en", max_length=10)


class FilingIn(BaseModel):
    """An application for dispute resolution, as the claimant submits it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    claimant: ContactIn
    respondents: list[ContactIn] = Field(min_length=1, max_length=10)
    category: str = Field(min_length=1, max_length=40)
    amount: str | None = Field(default=None, max_length=30)
    currency: str | None = Field(default=None, max_length=10)
    facts: str = Field(min_length=1, max_length=20_000)
    desired_outcome: str = Field(min_length=1, max_length=5_000)
    languages: list[str] = Field(default_factory=list, max_length=5)
    consent: bool


def parse_amount(
    amount: str | None, currency: str | None
) -> tuple[int | None, str | None]:
    """A decimal amount string and currency code as (minor units, code).

    Raises InvalidInput with codes ``invalid_amount``, ``amount_precision``,
    ``currency_required`` or ``unsupported_currency``.
    """
    amount = (amount or "").strip() or None
    code = (currency or "").strip().upper() or None
    if amount is None:
        if code is not None and code not in CURRENCIES:
            raise _bad_currency(code)
        return None, code
    if not _AMOUNT.match(amount):
        raise InvalidInput(
            f"The amount must be a plain number like 1200.50, got {amount!r}.",
            code="invalid_amount",
            field="amount",
        )
    if code is None:
        raise InvalidInput(
            "Say which currency the amount is in.",
            code="currency_required",
            field="currency",
        )
    if code not in CURRENCIES:
        raise _bad_currency(code)
    digits = CURRENCIES[code]
    try:
        value = Decimal(amount)
    except InvalidOperation:  # the pattern above makes this unreachable
        raise InvalidInput(
            f"The amount {amount!r} is not a number.",
            code="invalid_amount",
            field="amount",
        ) from None
    scaled = value.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise InvalidInput(
            f"{code} amounts have at most {digits} decimal places, got {amount!r}.",
            code="amount_precision",
            field="amount",
        )
    minor = int(scaled)
    if minor <= 0 or minor >= MAX_AMOUNT_MINOR:
        raise InvalidInput(
            f"The amount must be above zero and below 10^{15 - digits} {code}, "
            f"got {amount!r}.",
            code="invalid_amount",
            field="amount",
        )
    return minor, code


def format_amount(amount_minor: int | None, currency: str | None) -> str | None:
    """Minor units back to the decimal string the claimant typed (1200.50)."""
    if amount_minor is None or currency is None:
        return None
    digits = CURRENCIES.get(currency, 2)
    value = Decimal(amount_minor).scaleb(-digits)
    return f"{value:.{digits}f}"


def _bad_currency(code: str) -> InvalidInput:
    return InvalidInput(
        f"Amounts in {code!r} are not accepted; use one of "
        f"{', '.join(sorted(CURRENCIES))}.",
        code="unsupported_currency",
        field="currency",
    )


def validate_filing(filing: FilingIn) -> tuple[int | None, str | None]:
    """The checks beyond the schema; returns the amount in minor units."""
    if not filing.consent:
        raise InvalidInput(
            "You must accept the terms of online dispute resolution to file.",
            code="consent_required",
            field="consent",
        )
    if filing.category not in CATEGORIES:
        raise InvalidInput(
            f"The category must be one of {', '.join(CATEGORIES)}, "
            f"got {filing.category!r}.",
            code="unknown_category",
            field="category",
        )
    if not (filing.claimant.email or filing.claimant.phone):
        raise InvalidInput(
            "Give an e-mail address or a phone number so that we can reach you.",
            code="contact_required",
            field="claimant.email",
        )
    contacts = [("claimant", filing.claimant)] + [
        (f"respondents.{i}", r) for i, r in enumerate(filing.respondents)
    ]
    for where, contact in contacts:
        if contact.language not in UI_LANGUAGES:
            raise InvalidInput(
                f"The language must be one of {', '.join(UI_LANGUAGES)}, "
                f"got {contact.language!r}.",
                code="unsupported_language",
                field=f"{where}.language",
            )
    for index, tag in enumerate(filing.languages):
        if not _LANGUAGE_TAG.match(tag):
            raise InvalidInput(
                f"A language is written like en or zh-CN, got {tag!r}.",
                code="unsupported_language",
                field=f"languages.{index}",
            )
    claimant_email = (filing.claimant.email or "").lower()
    for index, respondent in enumerate(filing.respondents):
        if claimant_email and (respondent.email or "").lower() == claimant_email:
            raise InvalidInput(
                "The respondent's e-mail address is your own.",
                code="respondent_is_claimant",
                field=f"respondents.{index}.email",
            )
    return parse_amount(filing.amount, filing.currency)


async def next_reference(session: AsyncSession, year: int) -> str:
    """Take the next number of ``year`` and format it as ACC-2026-000123.

    One atomic upsert on a counter row: PostgreSQL locks the row until the
    transaction ends, SQLite holds the database write lock (BEGIN IMMEDIATE),
    so two filings can never draw the same number and a rolled-back filing
    gives its number back.
    """
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(ReferenceCounter)
        .values(year=year, last=1)
        .on_conflict_do_update(
            index_elements=[ReferenceCounter.year],
            set_={"last": ReferenceCounter.last + 1},
        )
        .returning(ReferenceCounter.last)
    )
    number = (await session.execute(statement)).scalar_one()
    return f"{REFERENCE_PREFIX}-{year}-{number:06d}"


async def find_case(session: AsyncSession, reference: str) -> Case:
    """The case with this reference, or NotFound (code ``case_not_found``)."""
    case = (
        await session.execute(select(Case).where(Case.reference == reference.upper()))
    ).scalar_one_or_none()
    if case is None:
        raise NotFound("No such case.", code="case_not_found")
    return case


def party_link_path(token: str) -> str:
    """The path of a party's personal link."""
    return f"/p/{token}"


def text_digest(text: str) -> str:
    """SHA-256 of a text, so the event chain vouches for it without holding it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


async def file_case(
    services: Services, filing: FilingIn, caller: Caller
) -> tuple[Case, dict[int, str]]:
    """File a dispute; return the case and each party's personal link token.

    Validates beyond the schema (raising InvalidInput with a stable code and
    field), then in one transaction: draws the reference, stores the case
    and parties, appends ``case.filed`` and queues each party's mail.
    """
    amount_minor, currency = validate_filing(filing)
    languages = list(dict.fromkeys(filing.languages)) or [filing.claimant.language]
    now = utcnow()

    async with services.db.write() as session:
        reference = await next_reference(session, now.year)
        case = Case(
            reference=reference,
            status=CaseStatus.SUBMITTED,
            category=filing.category,
            amount_minor=amount_minor,
            currency=currency,
            facts=filing.facts,
            desired_outcome=filing.desired_outcome,
            languages=languages,
            language_of_record=languages[0],
        )
        # parties attached through the relationship, so that case.parties is
        # complete in memory for the caller without another query
        parties = [_party(PartyRole.CLAIMANT, filing.claimant)] + [
            _party(PartyRole.RESPONDENT, r) for r in filing.respondents
        ]
        case.parties = parties
        session.add(case)
        await session.flush()

        await append_event(
            session,
            case,
            "case.filed",
            caller.actor,
            {
                "reference": reference,
                "status": CaseStatus.SUBMITTED.value,
                "category": case.category,
                "amount_minor": amount_minor,
                "currency": currency,
                "languages": languages,
                "parties": [{"id": p.id, "role": p.role.value} for p in parties],
                "facts_sha256": text_digest(case.facts),
                "desired_outcome_sha256": text_digest(case.desired_outcome),
            },
        )

        tokens = {p.id: services.signer.party_link(p) for p in parties}
        for party in parties:
            if party.email:
                await _queue_filing_mail(services, session, case, party, tokens)

    logger.info(
        "case %s filed as %s with %d respondent(s)",
        case.id,
        case.reference,
        len(parties) - 1,
    )
    return case, tokens


def _party(role: PartyRole, contact: ContactIn) -> Party:
    return Party(
        role=role,
        name=contact.name,
        email=str(contact.email).lower() if contact.email else None,
        phone=contact.phone or None,
        organisation=contact.organisation or None,
        language=contact.language,
    )


async def _queue_filing_mail(
    services: Services,
    session: AsyncSession,
    case: Case,
    party: Party,
    tokens: dict[int, str],
) -> None:
    """The claimant hears "you filed"; a respondent hears "a dispute was filed"."""
    language = i18n.normalise(party.language) or i18n.DEFAULT_LANGUAGE
    link = services.settings.public_url.rstrip("/") + party_link_path(tokens[party.id])
    which = "claimant" if party.role is PartyRole.CLAIMANT else "respondent"
    claimant = next(p for p in case.parties if p.role is PartyRole.CLAIMANT)
    values = {
        "reference": case.reference,
        "name": party.name,
        "claimant": claimant.name,
        "link": link,
    }
    await enqueue_mail(
        session,
        recipient=party.email or "",
        language=language,
        subject=i18n.text(language, f"intake.mail.{which}.subject", **values),
        body=i18n.text(language, f"intake.mail.{which}.body", **values),
        case_id=case.id,
    )
