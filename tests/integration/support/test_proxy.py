"""The fault-injection TCP proxy against a small echo server: forwarding and each fault."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.support.proxy import TcpProxy


class EchoServer:
    """Answers every chunk with the same bytes; records what it received and which connections closed."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.received = bytearray()
        self.closed_connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    def _echo(self, conn: socket.socket) -> None:
        with conn:
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    self.closed_connections += 1
                    return
                self.received += chunk
                conn.sendall(chunk)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()


@pytest.fixture
def proxy(echo: EchoServer) -> Iterator[TcpProxy]:
    with TcpProxy("127.0.0.1", echo.port, seed=7) as running:
        yield running


def _connect(proxy: TcpProxy) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=2)


def _eventually(condition, timeout: float = 2) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_the_proxy_forwards_both_ways(proxy: TcpProxy):
    with _connect(proxy) as client:
        client.sendall(b"hello")
        assert client.recv(100) == b"hello"
    assert proxy.counters["connections"] == 1


def test_a_dropped_reply_reaches_the_server_but_not_the_client(proxy: TcpProxy, echo: EchoServer):
    proxy.drop_replies(1.0)
    with _connect(proxy) as client:
        client.sendall(b"COMMIT")
        assert client.recv(100) == b""  # closed, with no answer

    assert bytes(echo.received) == b"COMMIT"
    assert proxy.counters["dropped_replies"] == 1
    assert _eventually(lambda: echo.closed_connections == 1), "the server side stays open"


def test_a_dropped_reply_can_leave_the_connection_open_and_silent(proxy: TcpProxy, echo: EchoServer):
    proxy.drop_replies(1.0, hang=True)
    with _connect(proxy) as client:
        client.sendall(b"COMMIT")
        client.settimeout(0.5)
        with pytest.raises(TimeoutError):
            client.recv(100)
        assert bytes(echo.received) == b"COMMIT"
        assert proxy.open_connections == 1


def test_only_chunks_holding_the_given_bytes_lose_their_reply(proxy: TcpProxy):
    proxy.drop_replies(1.0, containing=b"COMMIT")
    with _connect(proxy) as client:
        client.sendall(b"SELECT 1")
        assert client.recv(100) == b"SELECT 1"
        client.sendall(b"COMMIT")
        assert client.recv(100) == b""


def test_a_blackholed_connection_stays_open_silently_until_healed(proxy: TcpProxy, echo: EchoServer):
    with _connect(proxy) as client:
        proxy.blackhole()
        client.sendall(b"ping")
        client.settimeout(0.5)
        with pytest.raises(TimeoutError):
            client.recv(100)
        assert echo.received == b""
        assert proxy.open_connections == 1

        proxy.heal()
        client.settimeout(2)
        assert client.recv(100) == b"ping"


def test_a_new_connection_hangs_while_blackholed(proxy: TcpProxy):
    proxy.blackhole()
    with _connect(proxy) as client:
        client.sendall(b"ping")
        client.settimeout(0.5)
        with pytest.raises(TimeoutError):
            client.recv(100)


def test_cut_closes_every_connection_on_both_sides(proxy: TcpProxy, echo: EchoServer):
    first, second = _connect(proxy), _connect(proxy)
    with first, second:
        first.sendall(b"a")
        second.sendall(b"b")
        assert first.recv(10) == b"a"
        assert second.recv(10) == b"b"

        proxy.cut()

        assert first.recv(10) == b""
        assert second.recv(10) == b""
    assert proxy.counters["cut_connections"] == 2
    assert _eventually(lambda: echo.closed_connections == 2)


def test_refused_connections_are_closed_at_once_until_healed(proxy: TcpProxy):
    proxy.refuse_connections()
    with _connect(proxy) as client:
        assert client.recv(10) == b""
    assert proxy.counters["refused_connections"] == 1

    proxy.heal()
    with _connect(proxy) as client:
        client.sendall(b"back")
        assert client.recv(10) == b"back"


def test_the_same_seed_drops_the_same_replies(echo: EchoServer):
    def pattern() -> list[bool]:
        with TcpProxy("127.0.0.1", echo.port, seed=42) as proxy:
            proxy.drop_replies(0.5)
            dropped = []
            for _ in range(12):
                with _connect(proxy) as client:
                    client.sendall(b"x")
                    dropped.append(client.recv(10) == b"")
            return dropped

    first = pattern()
    assert first == pattern()
    assert any(first)
    assert not all(first)
