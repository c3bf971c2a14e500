"""The login form for browsers: paste an API key once, get a signed session cookie.

The key is checked like a bearer key and never stored in the browser: the cookie only names the
key's id, signed with the secret key (security.py), and stops working when the key is revoked.
HttpOnly keeps it from scripts; SameSite=Lax keeps other sites' forms from posting with it.
"""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from twincore.platform.gateway.deps import State
from twincore.platform.gateway.security import SESSION_COOKIE, SESSION_TTL_S

router = APIRouter(tags=["operations"], include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Twincore: sign in</title>
<style>body{{font-family:sans-serif;max-width:28rem;margin:4rem auto}}
input{{width:100%;padding:.5rem;margin:.5rem 0}}.error{{color:#b00020}}</style></head>
<body><h1>Twincore</h1><p>Sign in with an API key (<code>twincore keys create NAME</code>).</p>
<p class="error">{error}</p>
<form method="post" action="{root}/login">
<input type="password" name="key" autocomplete="off" placeholder="tc_..." required autofocus>
<input type="hidden" name="next" value="{next}"><input type="submit" value="Sign in">
</form></body></html>"""


def _safe_next(target: str) -> str:
    """Only a path on this site: an absolute or protocol-relative URL would make the form an
    open redirect."""
    ok = target.startswith("/") and not target.startswith("//") and "\\" not in target
    return target if ok else "/ui/"


def _page(request: Request, target: str, error: str = "", status: int = 200) -> HTMLResponse:
    root = escape(request.scope.get("root_path", ""))
    body = _PAGE.format(error=escape(error), root=root, next=escape(_safe_next(target)))
    return HTMLResponse(body, status_code=status)


@router.get("/login")
async def login_form(request: Request, next: Annotated[str, Query()] = "/ui/") -> HTMLResponse:
    return _page(request, next)


@router.post("/login", response_model=None)
async def login(
    request: Request,
    state: State,
    key: Annotated[str, Form(max_length=512)],
    next: Annotated[str, Form(max_length=2048)] = "/ui/",
) -> HTMLResponse | RedirectResponse:
    principal = await state.auth.verify_key(key.strip())
    if principal is None or principal.key_id is None:
        # Never echo what was typed: it may be a real key with a typo.
        return _page(request, next, "unknown or revoked API key", status=401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        state.auth.session_cookie(principal.key_id),
        max_age=SESSION_TTL_S,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> RedirectResponse:
    response = RedirectResponse(f"{request.scope.get('root_path', '')}/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
