"""A deadline on PostgreSQL's reply: a connection that stopped answering is cut, not waited on for ever.

TCP keepalives and `tcp_user_timeout` notice a peer that vanished, but not a path that still
acknowledges what is sent and relays nothing (a stuck proxy or pooler). PostgreSQL answers every
statement within `statement_timeout` (it cancels the statement then), so a reply that has not come
a little later is not coming: the socket is shut down, psycopg reports the connection broken, and
the caller's own handling takes over (503, or the in-doubt read-back of an accepting commit).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType

from django.conf import settings
from django.db import connection


class _Watchdog:
    """One thread per process that shuts down the sockets whose deadline passed, a quarter second
    late at most: arming and disarming cost a dict entry, not a thread, on the hot path."""

    _TICK_SECONDS = 0.25

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: dict[object, tuple[float, int]] = {}
        self._thread: threading.Thread | None = None

    def arm(self, token: object, fileno: int, deadline: float) -> None:
        with self._lock:
            self._armed[token] = (deadline, fileno)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._watch, name="db-reply-deadline", daemon=True)
                self._thread.start()

    def disarm(self, token: object) -> None:
        # Under the lock, so a socket is never shut down after its owner went on (or closed it).
        with self._lock:
            self._armed.pop(token, None)

    def _watch(self) -> None:
        while True:
            time.sleep(self._TICK_SECONDS)
            now = time.monotonic()
            with self._lock:
                for token, (deadline, fileno) in list(self._armed.items()):
                    if deadline <= now:
                        del self._armed[token]
                        _shut_down(fileno)


def _shut_down(fileno: int) -> None:
    # A duplicate descriptor: shutting it down ends the connection, closing it leaves psycopg's.
    with contextlib.suppress(OSError), socket.socket(fileno=os.dup(fileno)) as sock:
        sock.shutdown(socket.SHUT_RDWR)


_watchdog = _Watchdog()


class SocketDeadline:
    """Shuts a connection's socket down at the deadline (a monotonic time) unless left before."""

    def __init__(self, fileno: int, deadline: float) -> None:
        self._fileno = fileno
        self._deadline = deadline

    def __enter__(self) -> None:
        _watchdog.arm(self, self._fileno, self._deadline)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        _watchdog.disarm(self)


@contextmanager
def reply_deadline(session=None) -> Iterator[None]:
    """While inside, the current connection (or `session`, a psycopg connection) must answer within
    DATABASE_REPLY_DEADLINE_SECONDS."""
    session = session if session is not None else connection.connection
    if session is None:  # not connected yet: the connect has its own timeout
        yield
        return
    with SocketDeadline(session.fileno(), time.monotonic() + settings.DATABASE_REPLY_DEADLINE_SECONDS):
        yield


def each_reply_within_deadline(execute: Callable, sql, params, many, context):
    """A Django execute wrapper: every statement's reply within the deadline."""
    with reply_deadline(context["connection"].connection):
        return execute(sql, params, many, context)
