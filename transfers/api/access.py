"""Who is calling, as the core sees them: the one translation every API view shares."""

from __future__ import annotations

from transfers.domain.model import Caller


def caller_of(request) -> Caller:
    return Caller(
        user_id=request.user.id,
        is_ops=bool(getattr(request.auth, "is_ops", False)),
        request_id=request_id_of(request),
    )


def request_id_of(request) -> str:
    """The request's id for the audit record: the one the request-id middleware set, else the
    client's X-Request-ID header (at most 200 characters), else none."""
    given = getattr(request, "request_id", None) or request.headers.get("X-Request-ID", "")
    return str(given)[:200]
