"""``linkgraph serve``: the web explorer over a store (:mod:`linkgraph.web`)."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import secrets
import sys

from .common import EXIT_OK, CliError, arg, command, positive_int, switch


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (127.0.0.0/8, ::1) or ``localhost``."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


async def _serve(args: argparse.Namespace, token: str | None) -> None:
    from aiohttp import web

    import linkgraph

    from ..web import make_app

    with linkgraph.open_store(args.db) as store:
        runner = web.AppRunner(make_app(store, args.db, token=token), access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, args.host, args.port)
            try:
                await site.start()
            except OSError as exc:
                raise CliError(
                    f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
                ) from None
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            shown = f"[{args.host}]" if ":" in args.host else args.host
            url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
            print(f"linkgraph serve: {args.db} on {url}  (Ctrl-C stops it)", flush=True)
            if args.open:
                import webbrowser

                webbrowser.open(url)
            await asyncio.Event().wait()  # until Ctrl-C
        finally:
            await runner.cleanup()


@command(
    "db",
    arg(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1, this machine"
        " only); any other address requires a token",
    ),
    arg("--port", type=positive_int, default=8787, help="port (default 8787; 0: any free port)"),
    switch("--open", help="open the URL in a browser"),
    arg(
        "--token",
        metavar="T",
        help="required on every request, as ?token=T (then a cookie);"
        " generated and printed when --host is not loopback and none is given",
    ),
)
def cmd_serve(args: argparse.Namespace) -> int:
    """A local web explorer of the store: search a target, its overview and charts, every list
    with filters and CSV/JSON downloads (read-only; 127.0.0.1 unless --host, which needs a token).

    Example:
      linkgraph serve --db links.db --open
      linkgraph serve --db links.db --host 0.0.0.0 --port 8080 --token "$(openssl rand -hex 16)"
    """
    import linkgraph

    linkgraph.open_store(args.db).close()  # a missing or foreign store: one line, before listening
    token = args.token
    if token is None and not is_loopback(args.host):
        token = secrets.token_urlsafe(18)
    if args.token is not None and len(args.token) < 8:
        raise CliError("--token: use at least 8 characters")
    try:
        asyncio.run(_serve(args, token))
    except KeyboardInterrupt:
        print("linkgraph serve: stopped", file=sys.stderr)
    return EXIT_OK
