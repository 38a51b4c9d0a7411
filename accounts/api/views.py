"""Account endpoints: open, list, read, close."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Account as AccountRow
from transfers.api.access import caller_of
from transfers.api.fields import AmountField
from transfers.domain.model import LimitFigures
from transfers.domain.money import Currency, format_amount, to_minor
from web.pagination import Pagination

ACCOUNT_SCHEMA = inline_serializer(
    "Account",
    {
        "id": serializers.UUIDField(),
        "currency": serializers.ChoiceField([c.code for c in Currency]),
        "balance": serializers.CharField(),
        "available_balance": serializers.CharField(),
        "daily_limit": serializers.CharField(),
        "used_today": serializers.CharField(),
        "pending_today": serializers.CharField(),
        "remaining_today": serializers.CharField(),
        "status": serializers.ChoiceField(["active", "frozen", "closed"]),
        "created_at": serializers.DateTimeField(),
    },
)
_FIELDS = ("id", "currency", "balance", "daily_limit", "status", "created_at")


class OpenAccountRequest(serializers.Serializer):
    currency = serializers.ChoiceField([c.code for c in Currency])
    daily_limit = AmountField(required=False)


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

    @extend_schema(responses={200: ACCOUNT_SCHEMA}, summary="Own accounts (ops: all accounts)")
    def get(self, request) -> Response:
        rows = AccountRow.objects.filter(kind=AccountRow.Kind.CUSTOMER)
        if not caller_of(request).is_ops:
            rows = rows.filter(owner_id=request.user.id)
        paginator = Pagination()
        page = paginator.paginate_queryset(
            rows.order_by("created_at", "id").values(*_FIELDS), request, view=self
        )
        return paginator.get_paginated_response(_accounts_json(list(page), self.limit_figures))

    @extend_schema(request=OpenAccountRequest, responses={201: ACCOUNT_SCHEMA}, summary="Open an account")
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

    @extend_schema(responses={200: ACCOUNT_SCHEMA}, summary="An account, with today's limit figures")
    def get(self, request, account_id: uuid.UUID) -> Response:
        self.read_account(caller=caller_of(request), account_id=account_id)
        return Response(_one(account_id, self.limit_figures))


class CloseAccountView(APIView):
    close_account = None  # these are bound by config.bootstrap
    limit_figures = None

    @extend_schema(request=None, responses={200: ACCOUNT_SCHEMA}, summary="Close an empty account")
    def post(self, request, account_id: uuid.UUID) -> Response:
        self.close_account(caller=caller_of(request), account_id=account_id)
        return Response(_one(account_id, self.limit_figures))
