"""Reads back, on a new connection, whether an event committed when its commit's reply was lost."""

from __future__ import annotations

import logging
import time
import uuid
from typing import NamedTuple

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections

from transfers.adapters.reply_deadline import SocketDeadline
from transfers.domain import errors
from transfers.models import Event

log = logging.getLogger(__name__)

READ_BACK_SECONDS = 3.0
_CONNECT_TIMEOUT_SECONDS = 2  # libpq's shortest
_PAUSE_SECONDS = 0.2
_END_WAIT_MS = 1000

# First end the session that sent the commit and wait until it is gone: while it lives, a COMMIT
# still on its way to it could land after the read. No row: it is gone already. Database and role
# narrow the pid down, in case a new session got it meanwhile.
_END_LOST_SESSION = """
SELECT pg_terminate_backend(pid, %s) FROM pg_stat_activity
WHERE pid = %s AND datname = current_database() AND usename = session_user
"""
_EVENT_EXISTS = f"SELECT EXISTS (SELECT FROM {Event._meta.db_table} WHERE event_id = %s)"


class LostSession(NamedTuple):
    """The server session a commit was sent on: the server it lived on, and its pid there."""

    host: str
    port: int
    pid: int

    @classmethod
    def of(cls, connection: psycopg.Connection) -> LostSession:
        """Read while the connection is still open (a closed one no longer tells)."""
        info = connection.info
        return cls(info.host, info.port, info.backend_pid)


def event_committed(
    event_id: uuid.UUID,
    *,
    lost_session: LostSession,
    alias: str = DEFAULT_DB_ALIAS,
    budget_seconds: float = READ_BACK_SECONDS,
) -> bool:
    """Whether the event committed, told once the session that sent its commit can no longer commit.

    Tries again for `budget_seconds` (an attempt under way may take up to 2 s more to connect);
    raises OutcomeUnknown if it cannot tell by then.
    """
    deadline = time.monotonic() + budget_seconds
    failure: Exception | str = "the session that sent the commit is still alive"
    while True:
        try:
            committed = _read_back(event_id, lost_session, alias, deadline)
        except psycopg.Error as exc:
            committed, failure = None, exc
        if committed is not None:
            outcome = "committed" if committed else "did not"
            log.warning("the commit of event %s was in doubt; it %s", event_id, outcome)
            return committed
        if time.monotonic() + _PAUSE_SECONDS >= deadline:
            log.error(
                "whether event %s committed cannot be told (%s); its outcome is unknown", event_id, failure
            )
            raise errors.OutcomeUnknown(event_id)
        time.sleep(_PAUSE_SECONDS)


def _read_back(event_id: uuid.UUID, lost: LostSession, alias: str, deadline: float) -> bool | None:
    """Whether the event exists; None while the lost session is still alive.

    After a failover the new connection reaches another server (a multi-host DATABASE_URL): the
    lost session's pid means nothing there, and a commit sent to the old server cannot land on it.
    """
    params = {
        **connections[alias].get_connection_params(),
        "connect_timeout": _CONNECT_TIMEOUT_SECONDS,
        "autocommit": True,
        "prepare_threshold": None,
        # Whatever the URL says: the outcome is the primary's to tell, never a lagging standby's.
        "target_session_attrs": "read-write",
    }
    with psycopg.connect(**params) as session, SocketDeadline(session.fileno(), deadline):
        if (session.info.host, session.info.port) != (lost.host, lost.port):
            return session.execute(_EVENT_EXISTS, [event_id]).fetchone()[0]
        remaining_ms = int((deadline - time.monotonic()) * 1000)
        ended = session.execute(
            _END_LOST_SESSION, [max(1, min(_END_WAIT_MS, remaining_ms)), lost.pid]
        ).fetchone()
        if ended is not None and not ended[0]:
            return None
        return session.execute(_EVENT_EXISTS, [event_id]).fetchone()[0]
