"""Jinja2 page rendering with the i18n catalogue and the CSRF token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from server import i18n
from server.auth import CSRF_COOKIE, new_csrf_token

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "web" / "templates"

templates = Jinja2Templates(directory=TEMPLATE_DIR)


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """Render a page in the caller's language, setting the CSRF cookie if new."""
    language = i18n.request_language(request)
    csrf = request.cookies.get(CSRF_COOKIE) or new_csrf_token()
    ctx = {
        "lang": language,
        "languages": i18n.LANGUAGES,
        "t": lambda key, **values: i18n.text(language, key, **values),
        "csrf_token": csrf,
        "catalogue": i18n.catalogue(language),
        **(context or {}),
    }
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    secure = request.url.scheme == "https"
    if request.cookies.get(CSRF_COOKIE) != csrf:
        # readable by the page's script, which echoes it in a header
        response.set_cookie(
            CSRF_COOKIE,
            csrf,
            httponly=False,
            samesite="strict",
            secure=secure,
            path="/",
        )
    if request.query_params.get("lang"):
        response.set_cookie(
            i18n.LANG_COOKIE,
            language,
            max_age=365 * 86400,
            samesite="lax",
            secure=secure,
            path="/",
        )
    return response
