"""What the OpenAPI document says of Remit's resources, headers and errors, shared by the views.

Schema-only serializers: the views write their bodies themselves (`representations.py`), and
tests/integration/api/test_openapi.py checks that what they write validates against these.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from transfers.domain import errors
from transfers.domain.model import EventStatus, EventType
from transfers.domain.money import Currency
from web.openapi import error_headers, error_response

# The codes each status may carry, as the contract lists them (worker-only reasons excluded).
ERROR_CODES: dict[int, dict[str, str]] = {
    400: {
        "validation_error": "The request is not valid.",
        "malformed_json": "JSON parse error - Expecting value: line 1 column 1 (char 0)",
        "same_account": errors.SameAccount.message,
        "currency_mismatch": errors.CurrencyMismatch.message,
    },
    401: {"not_authenticated": "Authentication credentials were not provided."},
    403: {"forbidden": errors.Forbidden.message},
    404: {"not_found": "No such account."},
    409: {"idempotency_in_progress": errors.IdempotencyInProgress.message},
    415: {"unsupported_media_type": 'Unsupported media type "text/plain" in request.'},
    422: {
        "daily_limit_exceeded": errors.DailyLimitExceeded.message,
        "account_closed": errors.AccountClosed.message,
        "account_frozen": errors.AccountFrozen.message,
        "account_not_empty": errors.AccountNotEmpty.message,
        "idempotency_key_reused": errors.IdempotencyKeyReused.message,
        "not_reversible": errors.NotReversible.message,
    },
    429: {
        "throttled": "Request was throttled. Expected available in 12 seconds.",
        "overloaded": errors.Overloaded.message,
    },
    503: {
        "service_unavailable": errors.ServiceUnavailable.message,
        "outcome_unknown": errors.OutcomeUnknown.message,
    },
}
REJECTION_REASONS = sorted(
    cls.code
    for cls in (
        errors.AccountClosed,
        errors.AccountFrozen,
        errors.DailyLimitExceeded,
        errors.InsufficientFunds,
        errors.BalanceLimitExceeded,
    )
)
CURRENCIES = [c.code for c in Currency]
EVENT_TYPES = [t.value for t in EventType]
EVENT_STATUSES = [s.value for s in EventStatus]

_EXTRA = {503: {"event_id": serializers.UUIDField(required=False, help_text="With `outcome_unknown` only.")}}


# One component per status, shared by every operation.
_ERRORS = {s: error_response(s, list(codes), codes, **_EXTRA.get(s, {})) for s, codes in ERROR_CODES.items()}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """The error answers of an operation; every operation can also answer 401, 429 and 503."""
    return {s: _ERRORS[s] for s in sorted({*statuses, 401, 429, 503})}


def error_response_headers(*statuses: int) -> list[OpenApiParameter]:
    return error_headers({*statuses, 429})


AMOUNT_PATTERN = r"^(0|[1-9][0-9]*)(\.[0-9]+)?$"


class EventSchema(serializers.Serializer):
    event_id = serializers.UUIDField()
    type = serializers.ChoiceField(EVENT_TYPES)
    status = serializers.ChoiceField(EVENT_STATUSES)
    reason = serializers.ChoiceField(REJECTION_REASONS, allow_null=True, help_text="Why it was rejected.")
    amount = serializers.RegexField(AMOUNT_PATTERN, help_text="With the currency's fraction digits.")
    currency = serializers.ChoiceField(CURRENCIES)
    account = serializers.UUIDField(required=False, help_text="Deposits and withdrawals.")
    from_account = serializers.UUIDField(required=False, help_text="Transfers: the account debited.")
    to_account = serializers.UUIDField(required=False, help_text="Transfers: the account credited.")
    reference = serializers.CharField(required=False, allow_blank=True, help_text="Deposits, withdrawals.")
    memo = serializers.CharField(required=False, allow_blank=True, help_text="Transfers.")
    reverses = serializers.UUIDField(required=False, help_text="Reversals: the event it reverses.")
    created_at = serializers.DateTimeField(help_text="When it was accepted.")
    processed_at = serializers.DateTimeField(allow_null=True, help_text="When it became final.")

    class Meta:
        ref_name = "Event"


PENDING_DEPOSIT = {
    "event_id": "0b5e3c1a-8f2d-4e6b-9a71-3c4d5e6f7a81",
    "type": "deposit",
    "status": "pending",
    "reason": None,
    "amount": "15000",
    "currency": "KRW",
    "account": "5f0c6a2e-1b3d-4c8e-9f7a-2d4e6b8c0a13",
    "reference": "salary",
    "created_at": "2026-11-29T18:20:31.512345+09:00",
    "processed_at": None,
}
COMPLETED_TRANSFER = {
    "event_id": "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f",
    "type": "transfer",
    "status": "completed",
    "reason": None,
    "amount": "12.50",
    "currency": "USD",
    "from_account": "5f0c6a2e-1b3d-4c8e-9f7a-2d4e6b8c0a13",
    "to_account": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
    "memo": "dinner",
    "created_at": "2026-11-29T18:20:31.512345+09:00",
    "processed_at": "2026-11-29T18:20:31.529870+09:00",
}
PENDING_REVERSAL = {
    "event_id": "3a4b5c6d-7e8f-4a9b-8c0d-1e2f3a4b5c6d",
    "type": "reversal",
    "status": "pending",
    "reason": None,
    "amount": "12.50",
    "currency": "USD",
    "from_account": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
    "to_account": "5f0c6a2e-1b3d-4c8e-9f7a-2d4e6b8c0a13",
    "reverses": "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f",
    "created_at": "2026-11-30T10:02:11.402118+09:00",
    "processed_at": None,
}
REJECTED_WITHDRAWAL = {
    **PENDING_DEPOSIT,
    "event_id": "1e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b",
    "type": "withdrawal",
    "status": "rejected",
    "reason": "insufficient_funds",
    "reference": "",
    "processed_at": "2026-11-29T18:20:31.530000+09:00",
}

PREFER = OpenApiParameter(
    "Prefer",
    str,
    OpenApiParameter.HEADER,
    description="`wait=N` (RFC 7240; seconds, at most 10, more counts as 10): answer with the final event "
    "if it is final within N seconds, else as without the header.",
    examples=[OpenApiExample("wait", "wait=5")],
)
PREFERENCE_APPLIED = OpenApiParameter(
    "Preference-Applied",
    str,
    OpenApiParameter.HEADER,
    response=True,
    description="`wait=N` when the request asked to wait (and was let wait) N seconds.",
)
LOCATION = OpenApiParameter(
    "Location",
    str,
    OpenApiParameter.HEADER,
    response=[200, 202],
    required=True,
    description="`/api/v1/events/{event_id}`: where the event can be read from now on.",
)
LOCATION_OF_REVERSAL_EVENT = OpenApiParameter(
    "Location",
    str,
    OpenApiParameter.HEADER,
    response=[202],
    required=True,
    description="`/api/v1/events/{event_id}`: the reversal event.",
)
LOCATION_OF_REVERSAL = OpenApiParameter(
    "Location",
    str,
    OpenApiParameter.HEADER,
    response=[201],
    required=True,
    description="`/api/v1/reversals/{id}`: the request.",
)
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    int,
    OpenApiParameter.HEADER,
    response=[202],
    required=True,
    description="Seconds: a hint for when to read Location.",
)
ETAG = OpenApiParameter(
    "ETag",
    str,
    OpenApiParameter.HEADER,
    response=[200, 304],
    required=True,
    description="Changes when the event does; send it as If-None-Match.",
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    str,
    OpenApiParameter.HEADER,
    description="The ETag of the event as last read: 304 while it is unchanged.",
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    pattern=r"^[\x20-\x7e]{1,255}$",
    description="1-255 printable ASCII characters, bare (`order-42`) or as a structured-field string "
    '(`"order-42"`), the same key either way; the same request with the same key within 24 h gets the '
    "first 202 again.",
    examples=[OpenApiExample("key", "order-42")],
)


def movement_responses(example: dict) -> dict:
    event = OpenApiResponse(EventSchema, examples=[OpenApiExample("pending", example, status_codes=[202])])
    final = OpenApiResponse(
        EventSchema,
        description="With `Prefer: wait=N`: the event became final within N seconds.",
        examples=[
            OpenApiExample(
                "completed",
                {**example, "status": "completed", "processed_at": COMPLETED_TRANSFER["processed_at"]},
                status_codes=[200],
            ),
        ],
    )
    return {202: event, 200: final, **error_responses(400, 403, 404, 409, 415, 422)}


MOVEMENT_PARAMETERS = [
    IDEMPOTENCY_KEY,
    PREFER,
    LOCATION,
    RETRY_AFTER,
    PREFERENCE_APPLIED,
    *error_response_headers(),
]
