"""Django's PostgreSQL backend, with a per-request health check that needs no query.

Django's CONN_HEALTH_CHECKS sends `SELECT 1` before each request's first query, a tenth of the
API's time. A server that drops an idle connection (a restart, an administrator) says so first,
so an idle connection with anything to read has been told goodbye: one `select()` tells.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is None or self.connection.closed:
            return False
        try:
            readable, _, _ = select.select([self.connection.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable
