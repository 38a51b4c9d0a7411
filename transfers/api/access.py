"""Who is calling, as the core sees them: the one translation every API view shares."""

from __future__ import annotations

from transfers.domain.model import Caller


def caller_of(request) -> Caller:
    return Caller(user_id=request.user.id, is_ops=bool(getattr(request.auth, "is_ops", False)))
