"""The request and event a line of work belongs to, carried in context variables (thread- and task-local)."""

from __future__ import annotations

import contextvars
import os
import random
import re
from collections.abc import Iterator
from contextlib import contextmanager

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
user: contextvars.ContextVar[str | None] = contextvars.ContextVar("user", default=None)
event_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("event_id", default=None)
account: contextvars.ContextVar[str | None] = contextvars.ContextVar("account", default=None)

# Where gunicorn's access line (telemetry.gunicorn) finds what Django learnt of a request: Django's
# `request.META` is the WSGI environ itself.
ENVIRON_REQUEST_ID = "remit.request_id"
ENVIRON_USER = "remit.user"

FIELDS = {"request_id": request_id, "user": user, "event_id": event_id, "account": account}

# The contract: a client's own id is 1-200 printable ASCII characters; anything else gets a new one.
_CLIENT_REQUEST_ID = re.compile(r"[\x20-\x7e]{1,200}")


def accept_request_id(header: str | None) -> str:
    """The client's X-Request-ID if the contract allows it, else a new one."""
    if header and _CLIENT_REQUEST_ID.fullmatch(header):
        return header
    # 128 random bits, as uuid4().hex gives, but without asking the kernel (a system call, during
    # which the thread lets go of the GIL): an id names a request, it guards nothing.
    return f"{_NEW_IDS.getrandbits(128):032x}"


# Its own generator: a random.seed() elsewhere in the process (a test library's, say) must not make
# ids repeat. Seeded from the kernel at import and again in each forked process (gunicorn workers).
_NEW_IDS = random.Random()
os.register_at_fork(after_in_child=_NEW_IDS.seed)


@contextmanager
def bound(**values: object) -> Iterator[None]:
    """Every log line written inside the block carries these fields (request_id, user, event_id, account)."""
    tokens = [(FIELDS[name], FIELDS[name].set(None if v is None else str(v))) for name, v in values.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
