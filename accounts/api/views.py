"""Account endpoints: open, list, read, close."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Account as AccountRow
from transfers.api import openapi
from transfers.api.access import caller_of
from transfers.api.fields import AmountField
from transfers.domain.model import LimitFigures
from transfers.domain.money import Currency, format_amount, to_minor
from web.openapi import page_parameters, page_response
from web.pagination import Pagination


class AccountSchema(serializers.Serializer):
    id = serializers.UUIDField()
    currency = serializers.ChoiceField(openapi.CURRENCIES)
    balance = serializers.CharField(help_text="With the currency's fraction digits.")
    available_balance = serializers.CharField(help_text="The balance less pending outgoing money.")
    daily_limit = serializers.CharField()
    used_today = serializers.CharField(help_text="Completed outgoing money accepted today.")
    pending_today = serializers.CharField(help_text="Outgoing money accepted today, not yet applied.")
    remaining_today = serializers.CharField(help_text="daily_limit - used_today - pending_today, at least 0.")
    status = serializers.ChoiceField(["active", "frozen", "closed"])
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "Account"


ACCOUNT_EXAMPLE = {
    "id": "5f0c6a2e-1b3d-4c8e-9f7a-2d4e6b8c0a13",
    "currency": "KRW",
    "balance": "120000",
    "available_balance": "105000",
    "daily_limit": "5000000",
    "used_today": "30000",
    "pending_today": "15000",
    "remaining_today": "4955000",
    "status": "active",
    "created_at": "2026-11-02T09:15:00.123456+09:00",
}


def _account_response(status: int, example: dict = ACCOUNT_EXAMPLE) -> OpenApiResponse:
    return OpenApiResponse(
        AccountSchema, examples=[OpenApiExample("account", example, status_codes=[status])]
    )


_FIELDS = ("id", "currency", "balance", "daily_limit", "status", "created_at")


class OpenAccountRequest(serializers.Serializer):
    currency = serializers.ChoiceField([c.code for c in Currency])
    daily_limit = AmountField(
        required=False, help_text="Outgoing money per day; default: the currency's (5,000,000 KRW, ...)."
    )

    class Meta:
        ref_name = "OpenAccount"


def _accounts_json(
    rows: list[dict], limit_figures: Callable[..., dict[uuid.UUID, LimitFigures]]
) -> list[dict]:
    """Accounts with today's limit figures, which come from the limit cache or one query."""
    figures = limit_figures(account_ids=[row["id"] for row in rows])
    return [_account_json(row, figures[row["id"]]) for row in rows]


def _account_json(row: dict, figures: LimitFigures) -> dict:
    currency = Currency[row["currency"]]
    money = partial(format_amount, currency=currency)
    return {
        "id": str(row["id"]),
        "currency": currency.code,
        "balance": money(row["balance"]),
        "available_balance": money(row["balance"] - figures.pending_out),
        "daily_limit": money(row["daily_limit"]),
        "used_today": money(figures.used),
        "pending_today": money(figures.pending),
        "remaining_today": money(figures.remaining(row["daily_limit"])),
        "status": row["status"],
        "created_at": row["created_at"].isoformat(),
    }


def _one(account_id: uuid.UUID, limit_figures: Callable[..., dict[uuid.UUID, LimitFigures]]) -> dict:
    return _accounts_json([AccountRow.objects.values(*_FIELDS).get(id=account_id)], limit_figures)[0]


class AccountsView(APIView):
    open_account = None  # these are bound by config.bootstrap
    limit_figures = None

    @extend_schema(
        operation_id="list_accounts",
        parameters=[*page_parameters(cursor=False), *openapi.error_response_headers()],
        responses={
            200: page_response("AccountPage", AccountSchema(many=True), [ACCOUNT_EXAMPLE], cursor=False),
            **openapi.error_responses(400, 404),
        },
        summary="Own accounts (ops: all accounts)",
    )
    def get(self, request) -> Response:
        rows = AccountRow.objects.filter(kind=AccountRow.Kind.CUSTOMER)
        if not caller_of(request).is_ops:
            rows = rows.filter(owner_id=request.user.id)
        paginator = Pagination()
        page = paginator.paginate_queryset(
            rows.order_by("created_at", "id").values(*_FIELDS), request, view=self
        )
        return paginator.get_paginated_response(_accounts_json(list(page), self.limit_figures))

    @extend_schema(
        operation_id="open_account",
        request=OpenAccountRequest,
        parameters=[
            OpenApiParameter(
                "Location",
                str,
                OpenApiParameter.HEADER,
                response=[201],
                required=True,
                description="`/api/v1/accounts/{id}`",
            ),
            *openapi.error_response_headers(),
        ],
        responses={
            201: _account_response(
                201,
                {
                    **ACCOUNT_EXAMPLE,
                    **dict.fromkeys(("balance", "available_balance", "used_today"), "0"),
                    "pending_today": "0",
                    "remaining_today": "5000000",
                },
            ),
            **openapi.error_responses(400, 415),
        },
        examples=[OpenApiExample("open", {"currency": "KRW", "daily_limit": "3000000"}, request_only=True)],
        summary="Open an account",
    )
    def post(self, request) -> Response:
        body = OpenAccountRequest(data=request.data)
        body.is_valid(raise_exception=True)
        currency = Currency[body.validated_data["currency"]]
        daily_limit = None
        if "daily_limit" in body.validated_data:
            daily_limit = to_minor(body.validated_data["daily_limit"], currency, field="daily_limit")
        account = self.open_account(caller=caller_of(request), currency=currency, daily_limit=daily_limit)
        return Response(
            _one(account.id, self.limit_figures),
            status=201,
            headers={"Location": f"/api/v1/accounts/{account.id}"},
        )


class AccountView(APIView):
    read_account = None  # these are bound by config.bootstrap
    limit_figures = None

    @extend_schema(
        operation_id="get_account",
        parameters=openapi.error_response_headers(),
        responses={200: _account_response(200), **openapi.error_responses(404)},
        summary="An account, with today's limit figures",
    )
    def get(self, request, account_id: uuid.UUID) -> Response:
        self.read_account(caller=caller_of(request), account_id=account_id)
        return Response(_one(account_id, self.limit_figures))


class CloseAccountView(APIView):
    close_account = None  # these are bound by config.bootstrap
    limit_figures = None

    @extend_schema(
        operation_id="close_account",
        request=None,
        parameters=openapi.error_response_headers(),
        responses={
            200: _account_response(
                200,
                {
                    **ACCOUNT_EXAMPLE,
                    **dict.fromkeys(("balance", "available_balance", "used_today", "pending_today"), "0"),
                    "remaining_today": "5000000",
                    "status": "closed",
                },
            ),
            **openapi.error_responses(403, 404, 422),
        },
        summary="Close an empty account",
    )
    def post(self, request, account_id: uuid.UUID) -> Response:
        self.close_account(caller=caller_of(request), account_id=account_id)
        return Response(_one(account_id, self.limit_figures))
