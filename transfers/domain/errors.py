"""Every expected failure, each with the stable code that clients and event reasons carry."""

from __future__ import annotations

import uuid


class RemitError(Exception):
    """A failure the contract names; `code` is stable and public."""

    code = "error"
    message = "The request failed."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message


class ValidationFailed(RemitError):
    code = "validation_error"
    message = "The request is not valid."

    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__()
        self.fields = fields


class InvalidAmount(ValidationFailed):
    """An amount or currency that breaks the contract's Money rules, reported under its field."""

    def __init__(self, detail: str, *, field: str = "amount") -> None:
        super().__init__({field: [detail]})
        self.detail = detail

    def __str__(self) -> str:
        return self.detail


class SameAccount(RemitError):
    code = "same_account"
    message = "A transfer needs two different accounts."


class CurrencyMismatch(RemitError):
    code = "currency_mismatch"
    message = "Both accounts of a transfer must hold the same currency."


class NotFound(RemitError):
    code = "not_found"
    message = "Not found."


class Forbidden(RemitError):
    code = "forbidden"
    message = "Only the owner may move money or close this account."


class IdempotencyInProgress(RemitError):
    code = "idempotency_in_progress"
    message = "A request with this Idempotency-Key is still being accepted."


class IdempotencyKeyReused(RemitError):
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was used for a different request."


class NotReversible(RemitError):
    code = "not_reversible"
    message = "Only a completed deposit, withdrawal or transfer can be reversed, once."


class AccountNotEmpty(RemitError):
    code = "account_not_empty"
    message = "Only an account with balance 0 and nothing pending can be closed."


class ServiceUnavailable(RemitError):
    code = "service_unavailable"
    message = "The service cannot take this request now; nothing was changed. Retry later."


class Overloaded(RemitError):
    code = "overloaded"
    message = "The service is behind with the movements it has accepted; retry after the time given."

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after


class OutcomeUnknown(RemitError):
    """The commit of an event was sent and the connection broke; whether it committed cannot be told."""

    code = "outcome_unknown"
    message = (
        "The database connection broke after this request was sent to be committed, and whether it was"
        " could not be told. Read the event at Location (404 until it exists, if it ever does), or send"
        " the request again with the same Idempotency-Key, never without one."
    )

    def __init__(self, event_id: uuid.UUID) -> None:
        super().__init__()
        self.event_id = event_id


class Rejection(RemitError):
    """A reason an event may be refused: by the API at once, or by the worker when it applies it."""


class AccountClosed(Rejection):
    code = "account_closed"
    message = "An account of this movement is closed."


class AccountFrozen(Rejection):
    code = "account_frozen"
    message = "An account of this movement is frozen."


class DailyLimitExceeded(Rejection):
    code = "daily_limit_exceeded"
    message = "This movement would exceed the account's daily limit."


class InsufficientFunds(Rejection):
    code = "insufficient_funds"
    message = "The balance does not cover this movement."


class BalanceLimitExceeded(Rejection):
    code = "balance_limit_exceeded"
    message = "This movement would push a balance over 10^15 major units."
