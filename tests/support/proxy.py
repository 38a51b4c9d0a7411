"""A TCP proxy for fault-injection tests: plain forwarding, with faults switched on while it runs.

One thread runs a `select` loop over every socket; the control methods hand their change to that
thread and wait until it is done, so a fault is in force when the call returns and no socket is
touched by two threads.
"""

from __future__ import annotations

import contextlib
import queue
import random
import select
import socket
import threading
from collections.abc import Callable
from types import TracebackType

_CHUNK = 65536
_POLL_SECONDS = 0.5


def _keepalive(sock: socket.socket) -> None:
    """A peer that vanished without a FIN is noticed within seconds, not hours."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)


class _Link:
    """One client connection and the connection to the target it is relayed to."""

    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.client = client
        self.server = server
        self.to_server = bytearray()
        self.to_client = bytearray()
        # The server's next answer is thrown away and both sides closed, or left open and silent.
        self.dropping = False
        self.hangs_after_drop = False
        self.silent = False

    def close(self) -> None:
        for sock in (self.client, self.server):
            with contextlib.suppress(OSError):  # already reset by the peer
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class TcpProxy:
    """Forwards 127.0.0.1:<port> to (host, port); faults can be switched on while it runs.

    `drop_replies(p)`: each chunk a client sends is forwarded, and with probability p the server's
    answer to it is thrown away and the connection closed on both sides: the reply to a statement
    is lost after the server ran it. With `hang=True` the connection stays open and silent instead,
    as when the peer vanished after the request went out. `blackhole()`: nothing is relayed either
    way and every socket stays open, as with a peer that vanished (new connections are accepted and
    hang the same way); `heal()` resumes relaying what was held. `cut()`: every current connection
    is closed at once. `refuse_connections()`: a new connection is closed as soon as it is
    accepted, as if nothing listened behind the proxy. `counters` counts connections and faults,
    for tests and summaries.
    """

    def __init__(self, target_host: str, target_port: int, *, seed: int | None = None) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.counters: dict[str, int] = {
            "connections": 0,
            "dropped_replies": 0,
            "cut_connections": 0,
            "refused_connections": 0,
        }
        # Called by the proxy's thread at each dropped reply, before the client sees its connection close.
        self.on_drop: Callable[[], None] | None = None
        self._random = random.Random(seed)
        self._drop_probability = 0.0
        self._drop_containing: bytes | None = None
        self._drop_hangs = False
        self._blackholed = False
        self._refusing = False
        self._links: list[_Link] = []
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._commands: queue.Queue[tuple[Callable[[], None], threading.Event]] = queue.Queue()
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._running = False

    def __enter__(self) -> TcpProxy:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._running = True
        self._thread = threading.Thread(target=self._loop, name=f"tcp-proxy-{self.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._call(self._shut_down)
        self._thread.join(10)
        self._thread = None
        self._wake_reader.close()
        self._wake_writer.close()

    def drop_replies(
        self, probability: float, *, containing: bytes | None = None, hang: bool = False
    ) -> None:
        """From now on, lose the server's answer to a client's chunk with this probability.

        With `containing`, only chunks holding those bytes are candidates (for example b"COMMIT";
        the connection must not use TLS for that). With `hang`, the connection is then left open
        and relays nothing more, rather than closed.
        """

        def switch() -> None:
            self._drop_probability = probability
            self._drop_containing = containing
            self._drop_hangs = hang

        self._call(switch)

    def blackhole(self) -> None:
        self._call(lambda: setattr(self, "_blackholed", True))

    def refuse_connections(self) -> None:
        self._call(lambda: setattr(self, "_refusing", True))

    def cut(self) -> None:
        def close_all() -> None:
            self.counters["cut_connections"] += len(self._links)
            for link in self._links:
                link.close()
            self._links.clear()

        self._call(close_all)

    def heal(self) -> None:
        def plain() -> None:
            self._drop_probability = 0.0
            self._drop_containing = None
            self._drop_hangs = False
            self._blackholed = False
            self._refusing = False

        self._call(plain)

    @property
    def open_connections(self) -> int:
        return len(self._links)

    def _call(self, change: Callable[[], None]) -> None:
        """Run `change` on the proxy's thread and wait for it (at once if already on that thread)."""
        if threading.current_thread() is self._thread:
            change()
            return
        done = threading.Event()
        self._commands.put((change, done))
        self._wake_writer.send(b"x")
        if not done.wait(10):
            raise TimeoutError("the proxy's thread did not answer")

    def _shut_down(self) -> None:
        self._running = False
        for link in self._links:
            link.close()
        self._links.clear()
        assert self._listener is not None
        self._listener.close()

    def _loop(self) -> None:
        while self._running:
            readers, writers = self._interest()
            readable, writable, _ = select.select(readers, writers, [], _POLL_SECONDS)
            for sock in readable:
                self._on_readable(sock)
            for sock in writable:
                self._on_writable(sock)

    def _interest(self) -> tuple[list[socket.socket], list[socket.socket]]:
        assert self._listener is not None
        readers: list[socket.socket] = [self._wake_reader, self._listener]
        writers: list[socket.socket] = []
        if self._blackholed:
            return readers, writers
        for link in self._links:
            if link.silent:
                continue
            # A side is read only once what it sent before has been passed on (back-pressure).
            if not link.to_server:
                readers.append(link.client)
            else:
                writers.append(link.server)
            if not link.to_client:
                readers.append(link.server)
            else:
                writers.append(link.client)
        return readers, writers

    def _on_readable(self, sock: socket.socket) -> None:
        if sock is self._wake_reader:
            self._wake_reader.recv(_CHUNK)
            self._run_commands()
        elif sock is self._listener:
            if self._running:
                self._accept()
        else:
            link = self._link_of(sock)
            if link is not None:
                self._relay(link, from_client=sock is link.client)

    def _run_commands(self) -> None:
        while True:
            try:
                change, done = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                change()
            finally:
                done.set()

    def _accept(self) -> None:
        assert self._listener is not None
        client, _ = self._listener.accept()
        self.counters["connections"] += 1
        if self._refusing:
            self.counters["refused_connections"] += 1
            client.close()
            return
        try:
            server = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        for sock in (client, server):
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            _keepalive(sock)
        self._links.append(_Link(client, server))

    def _relay(self, link: _Link, *, from_client: bool) -> None:
        source = link.client if from_client else link.server
        try:
            chunk = source.recv(_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._close(link)
        elif from_client:
            link.to_server += chunk
            if self._drops(chunk):
                link.dropping = True
                link.hangs_after_drop = self._drop_hangs
        elif link.dropping:
            self.counters["dropped_replies"] += 1
            if self.on_drop is not None:
                self.on_drop()
            if link.hangs_after_drop:
                link.silent = True
            else:
                self._close(link)
        else:
            link.to_client += chunk

    def _drops(self, chunk: bytes) -> bool:
        if self._drop_probability <= 0:
            return False
        if self._drop_containing is not None and self._drop_containing not in chunk:
            return False
        return self._random.random() < self._drop_probability

    def _on_writable(self, sock: socket.socket) -> None:
        link = self._link_of(sock)
        if link is None:
            return
        pending = link.to_server if sock is link.server else link.to_client
        try:
            sent = sock.send(pending)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(link)
            return
        del pending[:sent]

    def _link_of(self, sock: socket.socket) -> _Link | None:
        # Linear, and fine: a test opens tens of connections, not thousands.
        return next((link for link in self._links if sock is link.client or sock is link.server), None)

    def _close(self, link: _Link) -> None:
        if link in self._links:
            self._links.remove(link)
            link.close()
