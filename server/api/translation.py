"""Reading aids over HTTP: the agreement's free-text terms in a reader's language.

The agreement is signed in its own texts, with one language of record; the
free text of its terms (obligations, additional terms) is written in one
language inside every text. This endpoint gives a machine translation of that
free text into the reader's language, marked as such, beside the language of
record. It changes nothing that is signed.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from server import settlement
from server.api.base import endpoint
from server.auth import Caller
from server.casework import case_for
from server.errors import InvalidInput
from server.models import Offer, Participant
from server.services import Services
from translation import is_language_tag, model_code


def _language(request: Request) -> str:
    wanted = request.query_params.get("language") or ""
    if not is_language_tag(wanted):
        raise InvalidInput(
            f"language: expected a language such as en or zh-CN, got {wanted!r}.",
            code="invalid_language",
            field="language",
        )
    return model_code(wanted)


@endpoint(
    "/cases/{ref}/agreement/translation",
    "GET",
    action="agreement.read",
    summary="The agreement's free-text terms machine-translated for one reader",
    tags=["translation"],
    errors=("agreement_not_found", "invalid_language"),
)
async def agreement_translation(request: Request, caller: Caller) -> dict[str, Any]:
    """Each obligation and the additional terms in ``?language=``, marked machine."""
    services: Services = request.app.state.services
    async with services.db.read() as db:
        case = await case_for(db, caller, "agreement.read", request.path_params["ref"])
        target = _language(request)
        view = await settlement.view_agreement(db, case)
        document = view.document
        record = model_code(str(document.get("language_of_record") or "en"))
        # the terms come from the accepted offer: written in its author's language
        terms_source = record
        offer = await db.get(Offer, view.agreement.offer_id or 0)
        if offer is not None and offer.author_participant_id is not None:
            author = await db.get(Participant, offer.author_participant_id)
            if author is not None:
                terms_source = model_code(author.language)

    texts: list[tuple[str, str, str]] = []
    for index, term in enumerate(document.get("terms") or []):
        if isinstance(term, dict) and term.get("type") == "obligation":
            texts.append((str(index), str(term.get("text", "")), terms_source))
    additional = str(document.get("additional") or "")
    if additional.strip():
        texts.append(("additional", additional, record))

    room = services.extras.get("room_translation")
    out: list[dict[str, Any]] = []
    for where, text, source in texts:
        item: dict[str, Any] = {"where": where, "original": text, "source": source}
        if source == target:
            item.update(status="original", text=text)
        elif room is None:
            item.update(status="unavailable", text=None, error="translation_off")
        else:
            result = await room.pipeline.translate_now(
                text, source, target, str(case.id)
            )
            item.update(
                status=str(result.status),
                text=result.text,
                model=result.model_version,
                error=result.error_code,
            )
        out.append(item)
    return {
        "case": case.reference,
        "version": view.version.version,
        "sha256": view.version.sha256,
        "language": target,
        # the signed texts, in this language, prevail over any translation
        "language_of_record": document.get("language_of_record"),
        "texts": out,
    }


routes = [agreement_translation]
