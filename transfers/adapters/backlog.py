"""How far behind the worker is: the oldest pending event's acceptance time, read at most once a second."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable

from django.db import connection
from django.utils import timezone

from telemetry import metrics
from transfers.models import Event, ParkedAccount

# The oldest by acceptance order (`seq`), through the partial index event_pending_oldest: it holds
# only pending events, so the answer costs a few index entries however long the history or the
# backlog. Held events of parked accounts are stepped over; there are few.
_OLDEST_PENDING = f"""
SELECT created_at FROM {Event._meta.db_table} AS event
WHERE status = 'pending'
  AND NOT EXISTS (SELECT FROM {ParkedAccount._meta.db_table} AS parked
                  WHERE parked.account_id = event.account_id)
ORDER BY seq
LIMIT 1
"""


class DjangoBacklog:
    """The Backlog port on PostgreSQL, read at most once per `refresh_every` seconds per process.

    The value is shared by the threads of the process. When it is due, one thread reads it while
    the others answer at once with the value read before, so no request waits for another's query.
    """

    def __init__(
        self, *, refresh_every: float = 1.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._refresh_every = refresh_every
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._oldest: dt.datetime | None = None
        self._read_at: float | None = None

    def oldest_pending_at(self) -> dt.datetime | None:
        # Whoever holds the lock is reading, or about to find that nothing is due: never wait for it.
        if self._lock.acquire(blocking=False):
            try:
                if self._is_due():
                    self._read()
            finally:
                self._lock.release()
        return self._oldest

    def _is_due(self) -> bool:
        return self._read_at is None or self._monotonic() - self._read_at >= self._refresh_every

    def _read(self) -> None:
        started = self._monotonic()
        with connection.cursor() as cursor:
            cursor.execute(_OLDEST_PENDING)
            row = cursor.fetchone()
        self._oldest = row[0] if row else None
        self._read_at = started
        age = 0.0 if self._oldest is None else (timezone.now() - self._oldest).total_seconds()
        metrics.admission_oldest_pending_age.set(max(age, 0.0))
