"""``linkgraph serve``: the web explorer over a store (:mod:`linkgraph.web`)."""

from __future__ import annotations

import argparse
import sys

from .common import EXIT_OK, arg, command, port, switch


@command(
    "db",
    arg(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1, this machine only); any other address"
        " requires a token on every request",
    ),
    arg("--port", type=port, default=8787, help="port (default 8787; 0: any free port)"),
    switch("--open", help="open the URL in a browser"),
    arg(
        "--token",
        metavar="T",
        help="required on every request, as ?token=T once (then kept in a cookie); generated"
        " and printed when --host is not loopback and none is given",
    ),
)
def cmd_serve(args: argparse.Namespace) -> int:
    """A local web explorer of the store: a target's overview and charts, every list with filters
    and CSV/JSON downloads (read-only; 127.0.0.1 unless --host, which needs a token).

    Example:
      linkgraph serve --db links.db --open
      linkgraph serve --db links.db --host 0.0.0.0 --port 8080   # prints a URL with a token
      linkgraph serve --db links.db --host 192.168.1.5 --token "$(openssl rand -hex 16)"
    """
    from ..stores import shown
    from ..web import serve

    def ready(url: str) -> None:
        print(f"linkgraph serve: {shown(args.db)} on {url}  (Ctrl-C stops it)", flush=True)
        if args.open:
            import webbrowser

            webbrowser.open(url)

    try:
        serve(args.db, host=args.host, port=args.port, token=args.token, ready=ready)
    except KeyboardInterrupt:
        print("linkgraph serve: stopped", file=sys.stderr)
    return EXIT_OK
