"""The use cases as config.bootstrap binds them to the real servers, for tests that drive the core."""

from __future__ import annotations

import uuid
from decimal import Decimal
from functools import partial

from django.contrib.auth import get_user_model

from config import bootstrap
from transfers.domain.model import Caller, EventType, Movement
from transfers.domain.money import Currency


def new_caller() -> Caller:
    """A customer no other test has seen."""
    return Caller(user_id=get_user_model().objects.create(username=f"user-{uuid.uuid4()}").id)


def open_account(caller: Caller, currency: Currency = Currency.KRW, daily_limit: int | None = None):
    return bootstrap.api().open_account(caller=caller, currency=currency, daily_limit=daily_limit)


def accept(
    caller: Caller,
    kind: EventType,
    account_id: uuid.UUID,
    amount: str,
    *,
    to: uuid.UUID | None = None,
    clock=None,
    **extra: str,
) -> uuid.UUID:
    """Accept a movement as the API does; `clock` stands in for the system clock if given."""
    movement = Movement(type=kind, account_id=account_id, amount=Decimal(amount), counterparty_id=to, **extra)
    accept_movement = bootstrap.api().accept_movement
    if clock is not None:
        accept_movement = partial(accept_movement, clock=clock)
    return accept_movement(caller=caller, movement=movement, idempotency=None).event_id
