"""How events are written in responses."""

from __future__ import annotations

from transfers.domain.money import Currency, format_amount
from transfers.models import Event


def event_json(event: Event) -> dict:
    body: dict = {
        "event_id": str(event.event_id),
        "type": event.type,
        "status": event.status,
        "reason": event.reason,
        "amount": format_amount(event.amount, Currency[event.currency]),
        "currency": event.currency,
    }
    if event.type in ("transfer", "reversal"):
        # A reversal's accounts: the one debited and the one credited.
        body["from_account"] = str(event.account_id)
        body["to_account"] = str(event.counterparty_id)
        if event.type == "reversal":
            body["reverses"] = str(event.reverses_id)
        else:
            body["memo"] = event.memo
    else:
        body["account"] = str(event.account_id)
        body["reference"] = event.reference
    body["created_at"] = event.created_at.isoformat()
    body["processed_at"] = event.processed_at.isoformat() if event.processed_at else None
    return body
