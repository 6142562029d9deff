"""The test suite's network guard: nothing but loopback, in this process and its children.

Every test and the demo must talk only to servers they start on 127.0.0.0/8. A crawler
swallows a failed DNS lookup as an ordinary outcome ("dns"), so refusing the lookup alone
would let a test pass while it tried to reach the internet. The guard therefore does two
things whenever code asks for a name or an address that is not loopback: it refuses (as
an unresolvable name or an unreachable network would), and it appends a line to the file
named by ``NETGUARD_LOG``, which ``tests/conftest.py`` reads after every test
and turns into a failure.

It wraps the places a Python process can reach the network from: ``socket.getaddrinfo``,
``gethostbyname(_ex)``, ``gethostbyaddr``, ``getnameinfo``, ``socket.socket.connect(_ex)``
and ``sendto`` (asyncio's own event loop goes through these), and uvloop's event loop,
whose resolver and connects are C code that bypasses the socket module. Child processes
(the CLI run as ``python -m linkgraph``, the demo web's server process) get it from
``sitecustomize.py`` beside this file, which conftest puts on their ``PYTHONPATH``.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Any

__all__ = ["LOG_ENV", "install", "is_allowed_address", "is_allowed_host"]

LOG_ENV = "NETGUARD_LOG"
_installed = False


def is_allowed_address(address: str) -> bool:
    """Loopback addresses only (127.0.0.0/8, ::1, and IPv4-mapped loopback)."""
    text = address.strip("[]").split("%", 1)[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def is_allowed_host(host: Any) -> bool:
    """What a lookup may ask for: no name (a bind to any address), ``localhost``, or a
    loopback literal. Any other name would be a DNS query."""
    if host is None or host in ("", b""):
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).lower().rstrip(".")
    if host in ("localhost", "0.0.0.0", "::"):  # the wildcards only ever bind
        return True
    return is_allowed_address(host)


def _record(what: str, target: Any) -> None:
    path = os.environ.get(LOG_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(f"pid {os.getpid()}: {what} {target!r}\n")


def _refuse_name(what: str, host: Any) -> socket.gaierror:
    _record(what, host)
    return socket.gaierror(socket.EAI_NONAME, f"network guard: the tests may not resolve {host!r}")


def _refuse_address(what: str, address: Any) -> OSError:
    _record(what, address)
    import errno

    return OSError(errno.ENETUNREACH, f"network guard: the tests may not connect to {address!r}")


def _address_ok(family: int, address: Any) -> bool:
    if family == getattr(socket, "AF_UNIX", object()):
        return True
    if isinstance(address, tuple) and address:
        return is_allowed_address(str(address[0]))
    return False


def install() -> None:
    """Wrap the socket module and uvloop (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True

    real_getaddrinfo = socket.getaddrinfo
    real_gethostbyname = socket.gethostbyname
    real_gethostbyname_ex = socket.gethostbyname_ex
    real_gethostbyaddr = socket.gethostbyaddr
    real_getnameinfo = socket.getnameinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_sendto = socket.socket.sendto

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not is_allowed_host(host):
            raise _refuse_name("getaddrinfo", host)
        return real_getaddrinfo(host, *args, **kwargs)

    def gethostbyname(host: str) -> str:
        if not is_allowed_host(host):
            raise _refuse_name("gethostbyname", host)
        return real_gethostbyname(host)

    def gethostbyname_ex(host: str) -> Any:
        if not is_allowed_host(host):
            raise _refuse_name("gethostbyname_ex", host)
        return real_gethostbyname_ex(host)

    def gethostbyaddr(address: str) -> Any:
        if not is_allowed_host(address):
            raise _refuse_name("gethostbyaddr", address)
        return real_gethostbyaddr(address)

    def getnameinfo(sockaddr: Any, flags: int) -> Any:
        if not _address_ok(socket.AF_INET, sockaddr):
            raise _refuse_name("getnameinfo", sockaddr)
        return real_getnameinfo(sockaddr, flags)

    def connect(self: socket.socket, address: Any) -> Any:
        if not _address_ok(self.family, address):
            raise _refuse_address("connect", address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        if not _address_ok(self.family, address):
            raise _refuse_address("connect_ex", address)
        return real_connect_ex(self, address)

    def sendto(self: socket.socket, data: Any, *args: Any) -> Any:
        address = args[-1]
        if not _address_ok(self.family, address):
            raise _refuse_address("sendto", address)
        return real_sendto(self, data, *args)

    socket.getaddrinfo = getaddrinfo
    socket.gethostbyname = gethostbyname
    socket.gethostbyname_ex = gethostbyname_ex
    socket.gethostbyaddr = gethostbyaddr
    socket.getnameinfo = getnameinfo
    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.socket.sendto = sendto  # type: ignore[method-assign,assignment]
    _guard_uvloop()


def _guard_uvloop() -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
        return

    class GuardedLoop(uvloop.Loop):  # type: ignore[misc,name-defined]
        """uvloop resolves and connects in C: check at its Python entry points."""

        async def getaddrinfo(self, host: Any, *args: Any, **kwargs: Any) -> Any:
            if not is_allowed_host(host):
                raise _refuse_name("uvloop getaddrinfo", host)
            return await super().getaddrinfo(host, *args, **kwargs)

        async def getnameinfo(self, sockaddr: Any, flags: int = 0) -> Any:
            if not _address_ok(socket.AF_INET, sockaddr):
                raise _refuse_name("uvloop getnameinfo", sockaddr)
            return await super().getnameinfo(sockaddr, flags)

        async def create_connection(self, *args: Any, **kwargs: Any) -> Any:
            host = kwargs.get("host", args[1] if len(args) > 1 else None)
            if kwargs.get("sock") is None and not is_allowed_host(host):
                raise _refuse_address("uvloop create_connection", host)
            return await super().create_connection(*args, **kwargs)

        async def create_datagram_endpoint(self, *args: Any, **kwargs: Any) -> Any:
            remote = kwargs.get("remote_addr")
            if remote is not None and not is_allowed_host(remote[0]):
                raise _refuse_address("uvloop create_datagram_endpoint", remote)
            return await super().create_datagram_endpoint(*args, **kwargs)

        async def sock_connect(self, sock: socket.socket, address: Any) -> Any:
            if not _address_ok(sock.family, address):
                raise _refuse_address("uvloop sock_connect", address)
            return await super().sock_connect(sock, address)

    # uvloop.new_event_loop() and its policy build ``Loop()`` from the module's globals.
    uvloop.Loop = GuardedLoop
