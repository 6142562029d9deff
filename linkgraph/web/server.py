"""Run the explorer: :func:`serve` listens, prints its URL and serves until Ctrl-C."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import secrets
from collections.abc import Callable

from ..errors import LinkgraphError

__all__ = ["is_loopback", "serve"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (127.0.0.0/8, ::1) or ``localhost``."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


async def _run(
    db: str | os.PathLike[str],
    host: str,
    port: int,
    token: str | None,
    ready: Callable[[str], None],
) -> None:
    from aiohttp import web

    import linkgraph

    from .app import make_app

    with linkgraph.open_store(db) as store:
        runner = web.AppRunner(make_app(store, db, token=token), access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            try:
                await site.start()
            except OSError as exc:
                raise LinkgraphError(
                    f"cannot listen on {host}:{port}: {exc.strerror or exc}"
                ) from None
            bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            shown = f"[{host}]" if ":" in host else host
            ready(f"http://{shown}:{bound}/" + (f"?token={token}" if token else ""))
            await asyncio.Event().wait()  # until Ctrl-C cancels it
        finally:
            await runner.cleanup()


def serve(
    db: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = 8787,
    token: str | None = None,
    ready: Callable[[str], None] = print,
) -> None:
    """Serve the explorer of the store ``db`` (read-only) until Ctrl-C (KeyboardInterrupt).

    Off loopback a token is required on every request: ``token``, or one generated here.
    ``ready`` is called with the URL to open (the token in it) once the server listens.

    Example::

        linkgraph.web.serve("links.db", port=8787)
    """
    linkgraph_open_check(db)
    if token is not None and len(token) < 8:
        raise LinkgraphError("a token needs at least 8 characters")
    if token is None and not is_loopback(host):
        token = secrets.token_urlsafe(18)
    asyncio.run(_run(db, host, port, token, ready))


def linkgraph_open_check(db: str | os.PathLike[str]) -> None:
    """Open and close the store: a missing or foreign file fails here, before listening."""
    import linkgraph

    linkgraph.open_store(db).close()
