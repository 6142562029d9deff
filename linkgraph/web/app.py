"""The aiohttp application of ``linkgraph serve``: routes, safety headers, the token.

Every response carries a Content-Security-Policy that allows scripts, styles and images
from this server only (no inline script: crawled text that slipped through escaping
still could not run), and refuses to be framed. Bound to loopback, the server answers
only requests naming a loopback host (a page elsewhere that rebinds its name to
127.0.0.1 cannot read the store); bound to another address it requires a token on every
request, as ``?token=`` once (then kept in a cookie) or ``Authorization: Bearer``.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Awaitable, Callable
from typing import Any

import jinja2
from aiohttp import web

from ..errors import LinkgraphError
from ..stores import shown
from . import views
from .format import FILTERS
from .overview import Authority
from .server import is_loopback
from .state import EXPLORER, Explorer

__all__ = ["CSP", "make_app"]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_COOKIE = "linkgraph_token"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _host_name(request: web.Request) -> str:
    host = request.host
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    token = request.app[EXPLORER].token
    set_cookie = False
    if token is None:
        if not is_loopback(_host_name(request)):
            raise web.HTTPForbidden(text="this server answers loopback names only\n")
    else:
        given = (
            request.query.get("token")
            or request.cookies.get(_COOKIE)
            or request.headers.get("Authorization", "").removeprefix("Bearer ")
        )
        if not given or not hmac.compare_digest(given.encode(), token.encode()):
            raise web.HTTPForbidden(
                text="a token is required: open the URL `linkgraph serve` printed\n"
            )
        set_cookie = "token" in request.query
    response = await handler(request)
    if set_cookie:
        response.set_cookie(_COOKIE, token or "", httponly=True, samesite="Strict")
    return response


@web.middleware
async def _headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = web.Response(status=exc.status, text=exc.text, headers=exc.headers)
    except LinkgraphError as exc:
        response = views.error_page(request, str(exc), status=400)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def make_app(
    store: Any, db: str | os.PathLike[str], *, token: str | None = None
) -> web.Application:
    """The web app over ``store`` (opened read-only by the caller), shown as ``db``."""
    app = web.Application(middlewares=[_headers, _guard])
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("linkgraph.web", "templates"),
        autoescape=True,  # every template, every value: crawled text is hostile
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    if hasattr(store, "domain_index"):
        # Read ahead, not on the first overview: the arrays that rank a hub's referring
        # domains (storage.domainindex; 1.2 MB, 0.1-0.4 s on the 10M-link store).
        store.domain_index()
    # Shown on every page and in the commands beside downloads: never a password.
    app[EXPLORER] = Explorer(store, shown(db), env, token, Authority(store))
    views.add_routes(app)
    return app
