"""The suite's network guard refuses, and reports, anything outside loopback."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import Callable

import pytest
import uvloop

OUTSIDE = "example.com"


def test_a_lookup_of_an_outside_name_is_refused_and_reported(
    netguard_violations: Callable[[], list[str]],
) -> None:
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo(OUTSIDE, 80)
    assert any(OUTSIDE in line for line in netguard_violations())


def test_a_connect_to_an_outside_address_is_refused_and_reported(
    netguard_violations: Callable[[], list[str]],
) -> None:
    with socket.socket() as sock, pytest.raises(OSError, match="network guard"):
        sock.connect(("192.0.2.1", 80))  # TEST-NET-1: refused before any packet leaves
    assert any("192.0.2.1" in line for line in netguard_violations())


def test_loopback_is_allowed() -> None:
    infos = socket.getaddrinfo("127.0.0.1", 80, type=socket.SOCK_STREAM)
    assert infos[0][4][0] == "127.0.0.1"
    with socket.socket() as server:
        server.bind(("127.0.0.3", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=5):
            pass


@pytest.mark.parametrize("loop_factory", [asyncio.new_event_loop, uvloop.new_event_loop])
def test_event_loop_lookups_are_guarded(
    loop_factory: Callable[[], asyncio.AbstractEventLoop],
    netguard_violations: Callable[[], list[str]],
) -> None:
    async def lookup() -> None:
        await asyncio.get_running_loop().getaddrinfo(OUTSIDE, 443)

    with asyncio.Runner(loop_factory=loop_factory) as runner, pytest.raises(OSError):
        runner.run(lookup())
    assert any(OUTSIDE in line for line in netguard_violations())


def test_uvloop_connects_are_guarded(netguard_violations: Callable[[], list[str]]) -> None:
    async def connect() -> None:
        await asyncio.get_running_loop().create_connection(asyncio.Protocol, "192.0.2.1", 80)

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner, pytest.raises(OSError):
        runner.run(connect())
    assert any("192.0.2.1" in line for line in netguard_violations())


def test_child_python_processes_are_guarded_too(
    netguard_violations: Callable[[], list[str]],
) -> None:
    code = (
        "import socket\n"
        "try:\n"
        f"    socket.getaddrinfo({OUTSIDE!r}, 80)\n"
        "except socket.gaierror as exc:\n"
        "    print('refused', exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.startswith("refused")
    assert any(OUTSIDE in line for line in netguard_violations())
