"""Lets a request wait (Prefer: wait=N) until an event is final, woken by PostgreSQL, never polling.

The worker notifies `remit_event_final` with the ids of the events it made final, in the same
transaction (so at its commit). Each web process keeps one LISTEN session in a thread of its own and
wakes the requests waiting for those ids. A waiting request holds one of the process's threads, so
at most `max_waiters` wait at once: past that a request is answered at once, as if it had not asked.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import TypeVar

import psycopg
from django.db import connections

EVENT_FINAL_CHANNEL = "remit_event_final"
log = logging.getLogger(__name__)
T = TypeVar("T")


class PostgresEventWaiter:
    def __init__(self, *, max_waiters: int, alias: str = "default", connect_timeout: float = 1.0) -> None:
        self._slots = threading.BoundedSemaphore(max_waiters)
        self._alias = alias
        self._connect_timeout = connect_timeout
        self._waiting: dict[str, set[threading.Event]] = defaultdict(set)
        self._lock = threading.Lock()
        self._listening = threading.Event()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def wait(
        self, event_id: uuid.UUID, seconds: float, read: Callable[[], T], is_final: Callable[[T], bool]
    ) -> tuple[bool, T | None]:
        """`(waited, value)`: `read()` once the event is final or `seconds` have passed.

        `waited` is False, and `value` None, when the request may not wait (every slot taken, or no
        LISTEN session): it is then answered as without the preference.
        """
        if not self._slots.acquire(blocking=False):
            return False, None
        try:
            if not self._ensure_listening():
                return False, None
            woken, key = threading.Event(), str(event_id)
            with self._lock:
                self._waiting[key].add(woken)
            try:
                value = read()  # registered first, so a notification after this read is not missed
                if not is_final(value):
                    woken.wait(seconds)
                    value = read()
                return True, value
            finally:
                with self._lock:
                    self._waiting[key].discard(woken)
                    if not self._waiting[key]:
                        del self._waiting[key]
        finally:
            self._slots.release()

    def _ensure_listening(self) -> bool:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._listen, name="event-waiter", daemon=True)
                self._thread.start()
        return self._listening.wait(self._connect_timeout)

    def close(self) -> None:
        """End the LISTEN session (within a second); a later wait opens it again."""
        self._closed.set()
        if self._thread is not None:
            self._thread.join()
        self._closed.clear()

    def _listen(self) -> None:
        pause = 0.2
        while not self._closed.is_set():
            try:
                params = {**connections[self._alias].get_connection_params(), "autocommit": True}
                params["prepare_threshold"] = None
                with psycopg.connect(**params) as session:
                    session.execute(f"LISTEN {EVENT_FINAL_CHANNEL}")
                    self._listening.set()
                    pause = 0.2
                    self._wake_all()  # what became final before this session listened
                    while not self._closed.is_set():
                        for notification in session.notifies(timeout=1.0):
                            self._wake(notification.payload.split(","))
            except psycopg.Error as exc:
                log.warning("event waiter lost its LISTEN session, reconnecting: %s", exc)
            self._listening.clear()
            self._wake_all()  # waiters read the event again rather than sleep through a lost wake-up
            if self._closed.wait(pause):
                return
            pause = min(pause * 2, 5.0)

    def _wake(self, event_ids: list[str]) -> None:
        with self._lock:
            for event_id in event_ids:
                for woken in self._waiting.get(event_id, ()):
                    woken.set()

    def _wake_all(self) -> None:
        with self._lock:
            for waiting in self._waiting.values():
                for woken in waiting:
                    woken.set()
