"""What a PostgreSQL error says, by its SQLSTATE: the data was refused, or the database cannot serve."""

from __future__ import annotations

from django.db import DatabaseError, InterfaceError, OperationalError

# Class 22 data exception, 23 integrity constraint violation: the rows written were refused, and
# would be refused again.
_DATA_REFUSED = ("22", "23")
# Connection (08), invalid transaction state such as a read-only server (25), rollback on
# serialization or deadlock (40), insufficient resources such as a full disk (53), lock not
# available (55), operator intervention and cancelled statements (57), system errors (58).
_UNAVAILABLE = ("08", "25", "40", "53", "55", "57", "58")


def sqlstate(exc: DatabaseError) -> str:
    """The SQLSTATE psycopg read from the server, or '' if the error came from the client side."""
    return getattr(exc.__cause__, "sqlstate", None) or ""


def data_refused(exc: DatabaseError) -> bool:
    """PostgreSQL refused a write because of its data (a constraint, a value out of range)."""
    return sqlstate(exc).startswith(_DATA_REFUSED)


def database_unavailable(exc: DatabaseError) -> bool:
    """The database cannot serve now (down, unreachable, read-only, full, timed out): retry later.

    Anything else (a refused write, an unknown column, a syntax error) is a bug or a bad deploy
    that retrying the same request does not cure.
    """
    state = sqlstate(exc)
    if state:
        return state.startswith(_UNAVAILABLE)
    return isinstance(exc, (OperationalError, InterfaceError))
