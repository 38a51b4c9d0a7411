"""A network a test can cut: a namespace behind a veth pair, and forwarders from its host end to servers.

A process in the namespace reaches the machine's servers only through the forwarders on the host
end of the pair. Setting that end down drops every packet with no FIN or RST to anyone: what a
crashed host, a pulled cable or a dead switch look like from both sides (a half-open connection).
Needs root and iproute2; the machine's servers and its own interfaces are not touched.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import select
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


def namespaces_available() -> bool:
    return os.geteuid() == 0 and shutil.which("ip") is not None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@dataclass(frozen=True)
class Namespace:
    name: str
    host_end: str
    host_address: str

    def exec_prefix(self) -> list[str]:
        """Prefix a command with this to run it inside the namespace."""
        return ["ip", "netns", "exec", self.name]

    def cut(self) -> None:
        _ip("link", "set", self.host_end, "down")

    def mend(self) -> None:
        _ip("link", "set", self.host_end, "up")


def _free_subnet() -> ipaddress.IPv4Network:
    in_use = subprocess.run(["ip", "-4", "-o", "addr"], check=True, capture_output=True, text=True).stdout
    for subnet in ipaddress.ip_network("10.213.0.0/16").subnets(new_prefix=30):
        if f" {subnet.network_address + 1}/" not in in_use:
            return subnet
    raise RuntimeError("no free /30 in 10.213.0.0/16")


@contextmanager
def network_namespace() -> Iterator[Namespace]:
    """A namespace with a link to this host; everything is removed again after the block."""
    tag = f"{os.getpid() % 100000}"
    name, host_end, inner_end = f"remit-cut-{tag}", f"rch{tag}", f"rcn{tag}"
    subnet = _free_subnet()
    host_address, inner_address = (str(subnet.network_address + n) for n in (1, 2))
    _ip("netns", "add", name)
    try:
        _ip("link", "add", host_end, "type", "veth", "peer", "name", inner_end)
        _ip("link", "set", inner_end, "netns", name)
        _ip("addr", "add", f"{host_address}/30", "dev", host_end)
        _ip("link", "set", host_end, "up")
        inside = ["netns", "exec", name, "ip"]
        _ip(*inside, "addr", "add", f"{inner_address}/30", "dev", inner_end)
        _ip(*inside, "link", "set", inner_end, "up")
        _ip(*inside, "link", "set", "lo", "up")
        yield Namespace(name, host_end, host_address)
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("link", "del", host_end)
        _ip("netns", "del", name)


class Forwarder:
    """Listens on `host` (a free port) and copies bytes both ways to `target`, one thread a connection."""

    def __init__(self, host: str, target: tuple[str, int]) -> None:
        self._target = target
        self._listener = socket.create_server((host, 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._closing = False
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> Forwarder:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._closing = True
        for sock in [self._listener, *self._sockets]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._closing:
            try:
                downstream, _ = self._listener.accept()
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                continue
            upstream.settimeout(None)
            self._sockets += [downstream, upstream]
            threading.Thread(target=self._pump, args=(downstream, upstream), daemon=True).start()

    def _pump(self, downstream: socket.socket, upstream: socket.socket) -> None:
        """Copy until either side closes; then close both, as a proxy does."""
        peers = {downstream: upstream, upstream: downstream}
        try:
            while True:
                readable, _, _ = select.select(list(peers), [], [])
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            for sock in peers:
                sock.close()
