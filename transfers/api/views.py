"""Deposit, withdrawal and transfer endpoints (202 + event), and reading events."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from transfers import services
from transfers.api.access import caller_of
from transfers.api.fields import AmountField, StrictCharField, StrictUUIDField
from transfers.api.representations import event_json
from transfers.domain import errors
from transfers.domain.model import AcceptedEvent, EventStatus, EventType, IdempotencyKey, Movement
from transfers.models import Event
from web.pagination import Pagination, cursor_page, wants_cursor

_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]{1,255}")
# A structured-field string (RFC 8941 3.3.3), as the IETF Idempotency-Key draft writes the key.
_SF_STRING = re.compile(r'"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"')
_SF_ESCAPE = re.compile(r'\\(["\\])')

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="1-255 printable ASCII characters; the same request with the same key within 24 h "
    "gets the first 202 again.",
)
EVENT_SCHEMA = inline_serializer(
    "Event",
    {
        "event_id": serializers.UUIDField(),
        "type": serializers.ChoiceField([t.value for t in EventType]),
        "status": serializers.ChoiceField([s.value for s in EventStatus]),
        "reason": serializers.CharField(allow_null=True),
        "amount": serializers.CharField(),
        "currency": serializers.CharField(),
        "account": serializers.UUIDField(required=False),
        "from_account": serializers.UUIDField(required=False),
        "to_account": serializers.UUIDField(required=False),
        "reference": serializers.CharField(required=False),
        "memo": serializers.CharField(required=False),
        "created_at": serializers.DateTimeField(),
        "processed_at": serializers.DateTimeField(allow_null=True),
    },
)


class CashMovementRequest(serializers.Serializer):
    amount = AmountField()
    reference = StrictCharField(max_length=140, required=False, allow_blank=True, default="")


class TransferRequest(serializers.Serializer):
    from_account = StrictUUIDField()
    to_account = StrictUUIDField()
    amount = AmountField()
    memo = StrictCharField(max_length=140, required=False, allow_blank=True, default="")


# One instance of each, shared by all requests: validating through `run_validation` keeps no state
# on the serializer, and skips the deep copy of every field that a new instance per request costs.
_CASH_MOVEMENT_BODY = CashMovementRequest()
_TRANSFER_BODY = TransferRequest()


def _idempotency_key(request) -> IdempotencyKey | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    quoted = _SF_STRING.fullmatch(key)
    if quoted:  # `"order-42"` and `order-42` are the same key
        key = _SF_ESCAPE.sub(r"\1", quoted.group(1))
    if not _PRINTABLE_ASCII.fullmatch(key):
        raise errors.ValidationFailed({"Idempotency-Key": ["must be 1-255 printable ASCII characters"]})
    return IdempotencyKey(user_id=request.user.id, scope=f"{request.method} {request.path}", key=key)


def _accept(request, accept_movement: Callable[..., services.Acceptance], movement: Movement) -> Response:
    acceptance = accept_movement(
        caller=caller_of(request), movement=movement, idempotency=_idempotency_key(request)
    )
    event = _as_row(acceptance.event) if acceptance.event else Event.objects.get(event_id=acceptance.event_id)
    location = f"/api/v1/events/{acceptance.event_id}"
    return Response(event_json(event), status=202, headers={"Location": location})


def _as_row(event: AcceptedEvent) -> Event:
    """The just-accepted event as the row it was committed as, to write it without reading it back."""
    movement = event.movement
    return Event(
        event_id=event.id,
        type=movement.type.value,
        status=EventStatus.PENDING.value,
        account_id=movement.account_id,
        counterparty_id=movement.counterparty_id,
        amount=event.amount,
        currency=event.currency.code,
        reference=movement.reference,
        memo=movement.memo,
        created_at=event.accepted_at,
    )


class _CashMovementView(APIView):
    event_type: EventType
    accept_movement = None  # bound by config.bootstrap

    def post(self, request, account_id: uuid.UUID) -> Response:
        body = _CASH_MOVEMENT_BODY.run_validation(request.data)
        return _accept(
            request,
            self.accept_movement,
            Movement(
                type=self.event_type,
                account_id=account_id,
                amount=body["amount"],
                reference=body["reference"],
            ),
        )


@extend_schema(
    request=CashMovementRequest,
    parameters=[IDEMPOTENCY_HEADER],
    responses={202: EVENT_SCHEMA},
    summary="Deposit money into an own account",
)
class DepositView(_CashMovementView):
    event_type = EventType.DEPOSIT


@extend_schema(
    request=CashMovementRequest,
    parameters=[IDEMPOTENCY_HEADER],
    responses={202: EVENT_SCHEMA},
    summary="Withdraw money from an own account",
)
class WithdrawalView(_CashMovementView):
    event_type = EventType.WITHDRAWAL


class TransferView(APIView):
    accept_movement = None  # bound by config.bootstrap

    @extend_schema(
        request=TransferRequest,
        parameters=[IDEMPOTENCY_HEADER],
        responses={202: EVENT_SCHEMA},
        summary="Transfer from an own account to any account",
    )
    def post(self, request) -> Response:
        data = _TRANSFER_BODY.run_validation(request.data)
        return _accept(
            request,
            self.accept_movement,
            Movement(
                type=EventType.TRANSFER,
                account_id=data["from_account"],
                counterparty_id=data["to_account"],
                amount=data["amount"],
                memo=data["memo"],
            ),
        )


class EventView(APIView):
    read_event = None  # bound by config.bootstrap

    @extend_schema(responses={200: EVENT_SCHEMA}, summary="An event, to whoever requested it and to ops")
    def get(self, request, event_id: uuid.UUID) -> Response:
        self.read_event(caller=caller_of(request), event_id=event_id)  # NotFound; audits ops reads
        return Response(event_json(Event.objects.get(event_id=event_id)))


class AccountEventsView(APIView):
    read_account = None  # bound by config.bootstrap

    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=[s.value for s in EventStatus])],
        responses={200: EVENT_SCHEMA},
        summary="Events touching an account, newest first",
    )
    def get(self, request, account_id: uuid.UUID) -> Response:
        self.read_account(caller=caller_of(request), account_id=account_id)
        wanted = request.query_params.get("status")
        if wanted is not None and wanted not in {s.value for s in EventStatus}:
            raise errors.ValidationFailed({"status": [f"must be one of {', '.join(EventStatus)}"]})
        events = Event.objects.all() if wanted is None else Event.objects.filter(status=wanted)

        def render(page) -> list[dict]:
            return [event_json(e) for e in page]

        if wants_cursor(request):

            def fetch(position: int | None, ascending: bool, limit: int) -> list[Event]:
                # Sent and received apart, each an index range scan of its own (no OR, no sort of
                # the account's whole history), merged; an event never names one account twice.
                order = "seq" if ascending else "-seq"
                if position is not None:
                    after = events.filter(seq__gt=position) if ascending else events.filter(seq__lt=position)
                else:
                    after = events
                sent = after.filter(account_id=account_id).order_by(order)[:limit]
                received = after.filter(counterparty_id=account_id).order_by(order)[:limit]
                return list(sent.union(received, all=True).order_by(order)[:limit])

            return cursor_page(request, fetch, key=lambda e: e.seq, render=render)
        events = events.filter(Q(account_id=account_id) | Q(counterparty_id=account_id))
        paginator = Pagination()
        page = paginator.paginate_queryset(events.order_by("-seq"), request, view=self)
        return paginator.get_paginated_response(render(page))
