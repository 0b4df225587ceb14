"""Signing in (password and TOTP code) and out.

The login form posts without a session (so without a CSRF token); a cross-site post is
refused by its ``Origin`` instead, which keeps another site from signing a browser into an
account of its choosing. The session cookie is HttpOnly and SameSite=Strict, Secure over
https, and lives exactly as long as the session. A failed login says only that it failed,
never which of username, password or code was wrong.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from riskloop.bootstrap import Riskloop
from riskloop.entrypoints.web.forms import Fields, form_fields
from riskloop.entrypoints.web.guard import AUTHENTICATED, OPEN
from riskloop.entrypoints.web.render import is_htmx, page
from riskloop.errors import AuthFailed, RateLimited

COOKIE = "riskloop_session"  # what the access middleware (http/auth.py) reads
FAILED = "Sign-in failed: check your username, password and code."

PERMISSIONS: dict[tuple[str, str], str] = {
    ("GET", "/login"): OPEN,  # no session yet: the middleware lets /login through
    ("POST", "/login"): OPEN,
    ("POST", "/logout"): AUTHENTICATED,
}


def safe_next(target: str) -> str:
    """Where to go after signing in: a path on this site, else ``/``. ``//host`` and
    ``/\\host`` are other sites to a browser.

    >>> safe_next("/cases/case_a?x=1"), safe_next("//evil.example"), safe_next("https://x")
    ('/cases/case_a?x=1', '/', '/')
    >>> safe_next("/\\\\evil.example"), safe_next("/login")
    ('/', '/')
    """
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or not target.isprintable()
        or len(target) > 2000
        or urlsplit(target).path in ("/login", "/logout")
    ):
        return "/"
    return target


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True  # older browsers send none on same-origin posts: SameSite covers them
    # Behind a proxy the site's name may be in X-Forwarded-Host; another site's page
    # cannot set that header on a browser's post (it is not a simple header).
    hosts = {request.headers.get("host"), request.headers.get("x-forwarded-host")}
    return urlsplit(origin).netloc in hosts - {None}


def _form(*, error: str = "", username: str = "", target: str = "/") -> dict[str, str]:
    return {"error": error, "username": username, "next": safe_next(target)}


def add_routes(api: APIRouter, rl: Riskloop) -> None:
    @api.get("/login", include_in_schema=False)
    async def login_form(request: Request) -> Response:
        target = request.query_params.get("next", "/")
        return page(request, "login.html", _form(target=target))

    @api.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        fields: Fields = await form_fields(request)
        username = fields.raw("username")[:64]
        password = fields.values.get("password")
        code = fields.raw("code")[:16]
        target = safe_next(fields.raw("next") or "/")
        if not _same_origin(request):
            return page(request, "login.html", _form(error=FAILED), status=403)
        if not username or not isinstance(password, str) or not password or not code:
            context = _form(error=FAILED, username=username, target=target)
            return page(request, "login.html", context, status=401)
        client = request.client.host if request.client else "unknown"
        try:
            result = await run_in_threadpool(
                lambda: rl.access.login(username, password[:1024], code, client=client)
            )
        except RateLimited as exc:
            context = _form(
                error=f"Too many failed attempts. Try again in {exc.retry_after_s} seconds.",
                username=username,
                target=target,
            )
            headers = {"Retry-After": str(exc.retry_after_s)}
            return page(request, "login.html", context, status=429, headers=headers)
        except AuthFailed:
            context = _form(error=FAILED, username=username, target=target)
            return page(request, "login.html", context, status=401)
        response = RedirectResponse(target, status_code=303)
        lifetime = int((result.expires_at - datetime.now(UTC)).total_seconds())
        response.set_cookie(
            COOKIE,
            result.session_token,
            max_age=max(lifetime, 0),
            path="/",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return response

    @api.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        token = request.cookies.get(COOKIE)
        if token:
            await run_in_threadpool(rl.access.logout, token)
        if is_htmx(request):  # htmx follows HX-Redirect with a full page load
            response: Response = Response(status_code=204, headers={"HX-Redirect": "/login"})
        else:
            response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(
            COOKIE,
            path="/",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return response
