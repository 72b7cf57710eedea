"""Rendering for the parents' pages: the language, its cookie, and the toggle link."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse

from supervision.web.public import i18n
from supervision.web.templating import render


def toggle_url(request: Request, lang: str) -> str:
    """The current page in the other language."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    params.append(("lang", "zh" if lang == i18n.EN else "en"))
    return f"{request.url.path}?{urlencode(params)}"


def page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    lang = i18n.lang_of(request)
    response = render(
        request,
        name,
        {
            **context,
            **i18n.helpers(lang, context.get("rules")),
            "lang": lang,
            "toggle_url": toggle_url(request, lang),
        },
        status_code=status_code,
    )
    asked = request.query_params.get("lang")
    if asked in ("en", "zh"):
        response.set_cookie(i18n.COOKIE, asked, max_age=365 * 24 * 3600, samesite="lax")
    return response
