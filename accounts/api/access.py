"""Who is calling, and which accounts they may see: shared by every API view."""

from __future__ import annotations

import uuid

from config import bootstrap
from transfers.domain import errors
from transfers.domain.model import Account, Caller


def caller_of(request) -> Caller:
    return Caller(user_id=request.user.id, is_ops=bool(getattr(request.auth, "is_ops", False)))


def readable_account(request, account_id: uuid.UUID) -> Account:
    """The account if the caller owns it or holds `ops`; raises NotFound otherwise (never 403 on reads)."""
    account = bootstrap.acceptance_store().accounts(account_id).get(account_id)
    if account is None or not account.readable_by(caller_of(request)):
        raise errors.NotFound("No such account.")
    return account
