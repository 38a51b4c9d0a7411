"""Deposit, withdrawal and transfer endpoints (202 + event), and reading events."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from collections.abc import Callable

from django.db import DatabaseError
from django.db.models import Q
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from transfers import services
from transfers.api import openapi
from transfers.api.access import caller_of
from transfers.api.fields import AmountField, StrictCharField, StrictUUIDField
from transfers.api.representations import event_json
from transfers.domain import errors
from transfers.domain.model import AcceptedEvent, EventStatus, EventType, IdempotencyKey, Movement
from transfers.models import Event
from web.openapi import page_parameters, page_response
from web.pagination import Pagination, cursor_page, wants_cursor

log = logging.getLogger(__name__)

_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]{1,255}")
# A structured-field string (RFC 8941 3.3.3), as the IETF Idempotency-Key draft writes the key.
_SF_STRING = re.compile(r'"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"')
_SF_ESCAPE = re.compile(r'\\(["\\])')
# Prefer: wait=N (RFC 7240): N whole seconds, at most this many.
_PREFER_WAIT = re.compile(r"(?:^|,)\s*wait\s*=\s*\"?(\d{1,6})\"?\s*(?:;[^,]*)?(?=,|$)", re.IGNORECASE)
MAX_WAIT_SECONDS = 10
# How soon to look at Location after a 202: events are usually final within tens of milliseconds.
RETRY_AFTER_SECONDS = 1


class CashMovementRequest(serializers.Serializer):
    amount = AmountField()
    reference = StrictCharField(max_length=140, required=False, allow_blank=True, default="")

    class Meta:
        ref_name = "CashMovement"


class TransferRequest(serializers.Serializer):
    from_account = StrictUUIDField()
    to_account = StrictUUIDField()
    amount = AmountField()
    memo = StrictCharField(max_length=140, required=False, allow_blank=True, default="")

    class Meta:
        ref_name = "Transfer"


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


def _accept(
    request, accept_movement: Callable[..., services.Acceptance], waiter, movement: Movement
) -> Response:
    acceptance = accept_movement(
        caller=caller_of(request), movement=movement, idempotency=_idempotency_key(request)
    )
    location = f"/api/v1/events/{acceptance.event_id}"
    # The event is committed from here on: a database error now must not answer 503 "nothing was
    # committed" (a client would send the movement again).
    wait = _wait_preference(request)
    if wait is not None:
        try:
            waited, event = _wait_for_final(waiter, acceptance.event_id, wait)
        except DatabaseError:
            log.warning("waiting for event %s failed; answering 202", acceptance.event_id, exc_info=True)
            waited = False
        if waited:
            final = event.status != EventStatus.PENDING
            headers = {"Location": location, "Preference-Applied": f"wait={wait}"}
            if not final:
                headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return Response(event_json(event), status=200 if final else 202, headers=headers)
    headers = {"Location": location, "Retry-After": str(RETRY_AFTER_SECONDS)}
    if acceptance.event is not None:
        return Response(event_json(_as_row(acceptance.event)), status=202, headers=headers)
    try:  # an idempotent replay: the event was accepted earlier
        event = Event.objects.get(event_id=acceptance.event_id)
    except DatabaseError as exc:
        raise errors.OutcomeUnknown(acceptance.event_id) from exc
    return Response(event_json(event), status=202, headers=headers)


def _wait_preference(request) -> int | None:
    """The seconds of `Prefer: wait=N`, at most 10; None if not asked (or not understood: RFC 7240
    says to ignore a preference one cannot read)."""
    asked = _PREFER_WAIT.search(request.headers.get("Prefer", ""))
    return None if asked is None else min(int(asked.group(1)), MAX_WAIT_SECONDS)


def _wait_for_final(waiter, event_id: uuid.UUID, seconds: int) -> tuple[bool, Event | None]:
    return waiter.wait(
        event_id,
        seconds,
        read=lambda: Event.objects.get(event_id=event_id),
        is_final=lambda event: event.status != EventStatus.PENDING,
    )


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
    accept_movement = None  # these are bound by config.bootstrap
    waiter = None

    def post(self, request, account_id: uuid.UUID) -> Response:
        body = _CASH_MOVEMENT_BODY.run_validation(request.data)
        return _accept(
            request,
            self.accept_movement,
            self.waiter,
            Movement(
                type=self.event_type,
                account_id=account_id,
                amount=body["amount"],
                reference=body["reference"],
            ),
        )


_CASH_EXAMPLE = OpenApiExample("deposit", {"amount": "15000", "reference": "salary"}, request_only=True)


@extend_schema_view(
    post=extend_schema(
        operation_id="deposit",
        request=CashMovementRequest,
        parameters=openapi.MOVEMENT_PARAMETERS,
        responses=openapi.movement_responses(openapi.PENDING_DEPOSIT),
        examples=[_CASH_EXAMPLE],
        summary="Deposit money into an own account",
    )
)
class DepositView(_CashMovementView):
    event_type = EventType.DEPOSIT


@extend_schema_view(
    post=extend_schema(
        operation_id="withdraw",
        request=CashMovementRequest,
        parameters=openapi.MOVEMENT_PARAMETERS,
        responses=openapi.movement_responses(
            {**openapi.PENDING_DEPOSIT, "type": "withdrawal", "reference": "rent"}
        ),
        examples=[OpenApiExample("withdrawal", {"amount": "15000", "reference": "rent"}, request_only=True)],
        summary="Withdraw money from an own account",
    )
)
class WithdrawalView(_CashMovementView):
    event_type = EventType.WITHDRAWAL


class TransferView(APIView):
    accept_movement = None  # these are bound by config.bootstrap
    waiter = None

    @extend_schema(
        operation_id="transfer",
        request=TransferRequest,
        parameters=openapi.MOVEMENT_PARAMETERS,
        responses=openapi.movement_responses(
            {**openapi.COMPLETED_TRANSFER, "status": "pending", "processed_at": None}
        ),
        examples=[
            OpenApiExample(
                "transfer",
                {
                    "from_account": openapi.COMPLETED_TRANSFER["from_account"],
                    "to_account": openapi.COMPLETED_TRANSFER["to_account"],
                    "amount": "12.50",
                    "memo": "dinner",
                },
                request_only=True,
            )
        ],
        summary="Transfer from an own account to any account of the same currency",
    )
    def post(self, request) -> Response:
        data = _TRANSFER_BODY.run_validation(request.data)
        return _accept(
            request,
            self.accept_movement,
            self.waiter,
            Movement(
                type=EventType.TRANSFER,
                account_id=data["from_account"],
                counterparty_id=data["to_account"],
                amount=data["amount"],
                memo=data["memo"],
            ),
        )


def _etag(body: dict) -> str:
    return '"' + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32] + '"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


class EventView(APIView):
    read_event = None  # these are bound by config.bootstrap
    waiter = None

    @extend_schema(
        operation_id="get_event",
        parameters=[
            openapi.PREFER,
            openapi.IF_NONE_MATCH,
            openapi.ETAG,
            openapi.PREFERENCE_APPLIED,
            *openapi.error_response_headers(),
        ],
        responses={
            200: OpenApiResponse(
                openapi.EventSchema,
                examples=[
                    OpenApiExample("completed", openapi.COMPLETED_TRANSFER, status_codes=[200]),
                    OpenApiExample("rejected", openapi.REJECTED_WITHDRAWAL, status_codes=[200]),
                    OpenApiExample("pending", openapi.PENDING_DEPOSIT, status_codes=[200]),
                ],
            ),
            304: OpenApiResponse(description="Unchanged since the ETag sent in If-None-Match."),
            **openapi.error_responses(404),
        },
        summary="An event, to whoever requested it and to ops",
    )
    def get(self, request, event_id: uuid.UUID) -> Response:
        self.read_event(caller=caller_of(request), event_id=event_id)  # NotFound; audits ops reads
        event = Event.objects.get(event_id=event_id)
        headers = {}
        wait = _wait_preference(request)
        if wait is not None and event.status == EventStatus.PENDING:
            waited, latest = _wait_for_final(self.waiter, event_id, wait)
            if waited:
                event = latest
                headers["Preference-Applied"] = f"wait={wait}"
        elif wait is not None:
            headers["Preference-Applied"] = f"wait={wait}"
        body = event_json(event)
        headers["ETag"] = _etag(body)
        if _matches(request.headers.get("If-None-Match"), headers["ETag"]):
            return Response(status=304, headers=headers)
        return Response(body, headers=headers)


_STATUS = OpenApiParameter(
    "status", str, enum=openapi.EVENT_STATUSES, description="Only events in this status."
)


class AccountEventsView(APIView):
    read_account = None  # bound by config.bootstrap

    @extend_schema(
        operation_id="list_account_events",
        parameters=[_STATUS, *page_parameters(cursor=True), *openapi.error_response_headers()],
        responses={
            200: page_response(
                "EventPage",
                openapi.EventSchema(many=True),
                [openapi.COMPLETED_TRANSFER, openapi.PENDING_DEPOSIT],
                cursor=True,
                next_page="http://127.0.0.1:8000/api/v1/accounts/5f0c6a2e-1b3d-4c8e-9f7a-2d4e6b8c0a13"
                "/events?cursor=ZDQy&page_size=1",
            ),
            **openapi.error_responses(400, 404),
        },
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
