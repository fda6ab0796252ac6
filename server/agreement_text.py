"""The settlement agreement's text in each language, its canonical form and PDF.

The canonical form is a JSON document (sorted keys, no spaces, UTF-8) holding
the parties, the terms and the full text in every language; its SHA-256 is
what the parties sign. The HTML and the PDF are renderings of that document,
never the other way round, so a rendering can always be checked against it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from typing import Any

from server.caselog import canonical_json
from server.errors import Unavailable
from server.templates import templates

logger = logging.getLogger(__name__)

LANGUAGE_NAMES = {
    "en": {"en": "English", "zh-CN": "Chinese (Simplified)"},
    "zh-CN": {"en": "英文", "zh-CN": "简体中文"},
}

ROLE_NAMES = {
    "en": {"claimant": "claimant", "respondent": "respondent"},
    "zh-CN": {"claimant": "申请人", "respondent": "被申请人"},
}


def money(minor: int, currency: str) -> str:
    """An amount as ``CNY 1,234.56`` (two decimals; the same in every language)."""
    major, cents = divmod(minor, 100)
    return f"{currency} {major:,}.{cents:02d}"


def _term_en(term: dict[str, Any]) -> str:
    if term["type"] == "monetary":
        text = f"Payment of {money(term['amount_minor'], term['currency'])}"
        if term.get("due_date"):
            text += f", due by {term['due_date']}"
        if term.get("instalments", 1) > 1:
            text += f", in {term['instalments']} equal instalments"
        return text + "."
    text = str(term["text"]).rstrip(".")
    if term.get("deadline"):
        text += f", by {term['deadline']}"
    return text + "."


def _term_zh(term: dict[str, Any]) -> str:
    if term["type"] == "monetary":
        text = f"支付 {money(term['amount_minor'], term['currency'])}"
        if term.get("due_date"):
            text += f"，于 {term['due_date']} 前付清"
        if term.get("instalments", 1) > 1:
            text += f"，分 {term['instalments']} 期等额支付"
        return text + "。"
    text = str(term["text"]).rstrip("。.")
    if term.get("deadline"):
        text += f"，于 {term['deadline']} 前完成"
    return text + "。"


def _names(parties: list[dict[str, Any]], role: str, sep: str) -> str:
    return sep.join(p["name"] for p in parties if p["role"] == role) or "—"


def text_en(doc: dict[str, Any]) -> str:
    """The English text of the agreement."""
    lor = LANGUAGE_NAMES["en"].get(doc["language_of_record"], doc["language_of_record"])
    langs = " and ".join(LANGUAGE_NAMES["en"].get(x, x) for x in doc["languages"])
    lines = [
        "SETTLEMENT AGREEMENT",
        f"Case {doc['case']}, version {doc['version']}",
        "",
        f"Between {_names(doc['parties'], 'claimant', ', ')} (the claimant) and "
        f"{_names(doc['parties'], 'respondent', ', ')} (the respondent).",
        "",
        f"1. The parties settle the dispute in case {doc['case']} on these terms:",
    ]
    lines += [f"   ({chr(97 + i)}) {_term_en(t)}" for i, t in enumerate(doc["terms"])]
    n = 2
    if doc.get("additional"):
        lines += ["", f"{n}. Additional terms:", f"   {doc['additional']}"]
        n += 1
    lines += [
        "",
        f"{n}. This agreement is made in {langs}. The {lor} text is the language of "
        f"record and prevails if the texts differ.",
        "",
        f"{n + 1}. With this settlement the parties resolve the dispute "
        "described in the case. Each party signs by typing their full name "
        "and giving explicit consent; the mediator countersigns. The agreement "
        "is identified by the SHA-256 digest of its canonical text.",
    ]
    return "\n".join(lines)


def text_zh(doc: dict[str, Any]) -> str:
    """The Simplified Chinese text of the agreement."""
    lor = LANGUAGE_NAMES["zh-CN"].get(
        doc["language_of_record"], doc["language_of_record"]
    )
    langs = "和".join(LANGUAGE_NAMES["zh-CN"].get(x, x) for x in doc["languages"])
    lines = [
        "和解协议",
        f"案件编号：{doc['case']}（第 {doc['version']} 版）",
        "",
        f"申请人：{_names(doc['parties'], 'claimant', '、')}",
        f"被申请人：{_names(doc['parties'], 'respondent', '、')}",
        "",
        f"一、双方就案件 {doc['case']} 所涉纠纷达成如下和解条款：",
    ]
    numerals = "一二三四五六七八九十"
    lines += [
        f"（{numerals[i % 10]}）{_term_zh(t)}" for i, t in enumerate(doc["terms"])
    ]
    n = 1
    if doc.get("additional"):
        lines += ["", f"{numerals[n]}、补充条款：", f"{doc['additional']}"]
        n += 1
    lines += [
        "",
        f"{numerals[n]}、本协议以{langs}文本订立，以{lor}文本为记录语言文本；"
        f"各文本不一致时，以{lor}文本为准。",
        "",
        f"{numerals[n + 1]}、双方以本和解协议解决本案所述纠纷。"
        "各方以键入全名并明确表示同意的方式签署，调解员副署。"
        "本协议以其规范文本的 SHA-256 摘要为标识。",
    ]
    return "\n".join(lines)


TEXTS = {"en": text_en, "zh-CN": text_zh}


def build_document(
    *,
    case_reference: str,
    version: int,
    language_of_record: str,
    parties: list[dict[str, Any]],
    terms: list[dict[str, Any]],
    additional: str = "",
) -> dict[str, Any]:
    """The agreement document: metadata, terms and the text in each language.

    The languages are the parties' languages plus the language of record,
    limited to those Accord has agreement templates for.
    """
    wanted = {language_of_record, *(p["language"] for p in parties)}
    languages = [x for x in TEXTS if x in wanted] or ["en"]
    lor = language_of_record if language_of_record in TEXTS else languages[0]
    doc: dict[str, Any] = {
        "case": case_reference,
        "version": version,
        "language_of_record": lor,
        "languages": languages,
        "parties": parties,
        "terms": terms,
        "additional": additional,
    }
    doc["texts"] = {lang: TEXTS[lang](doc) for lang in languages}
    return doc


def canonical(doc: dict[str, Any]) -> str:
    """The canonical text that is hashed and signed."""
    return canonical_json(doc).decode("utf-8")


def digest(canonical_text: str) -> str:
    """SHA-256 hex digest of the canonical text."""
    return hashlib.sha256(canonical_text.encode("utf-8")).hexdigest()


def parse(canonical_text: str) -> dict[str, Any]:
    """The document back from its canonical text (for rendering)."""
    value: dict[str, Any] = json.loads(canonical_text)
    return value


def render_html(
    doc: dict[str, Any], sha256: str, signatures: list[dict[str, Any]], intact: bool
) -> str:
    """A standalone HTML rendering (used for the PDF and the download)."""
    template = templates.get_template("negotiation/agreement_document.html")
    return template.render(doc=doc, sha256=sha256, signatures=signatures, intact=intact)


def _pdf(html: str) -> bytes:
    # imported lazily: weasyprint is the optional "pdf" extra and slow to load
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:
        # OSError: weasyprint is installed but the Pango library is missing
        logger.warning("agreement PDF unavailable: %s", exc)
        raise Unavailable(
            "PDF rendering is not installed on this server; install it with "
            "pip install 'accord[pdf]' (and the system's Pango library). The "
            "agreement can still be read and signed as HTML.",
            code="pdf_unavailable",
        ) from None

    result: bytes = HTML(string=html).write_pdf()
    return result


async def render_pdf(html: str) -> bytes:
    """The PDF of an HTML rendering, made in a worker thread."""
    return await asyncio.to_thread(_pdf, html)
