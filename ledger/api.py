"""The journal entries of an account, newest first."""

from __future__ import annotations

import uuid
from functools import partial

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ledger.models import Entry
from transfers.api.access import caller_of
from transfers.domain.money import format_amount
from web.pagination import Pagination, cursor_page, wants_cursor

ENTRY_SCHEMA = inline_serializer(
    "Entry",
    {
        "event_id": serializers.UUIDField(),
        "type": serializers.ChoiceField(["deposit", "withdrawal", "transfer_in", "transfer_out", "reversal"]),
        "amount": serializers.CharField(),
        "balance_after": serializers.CharField(),
        "counterparty": serializers.UUIDField(allow_null=True),
        "created_at": serializers.DateTimeField(),
    },
)


class AccountEntriesView(APIView):
    read_account = None  # bound by config.bootstrap

    @extend_schema(responses={200: ENTRY_SCHEMA}, summary="Journal entries of an account, newest first")
    def get(self, request, account_id: uuid.UUID) -> Response:
        account = self.read_account(caller=caller_of(request), account_id=account_id)
        entries = Entry.objects.filter(account_id=account_id)
        money = partial(format_amount, currency=account.currency)

        def render(page) -> list[dict]:
            return [
                {
                    "event_id": str(e.transaction_id),
                    "type": e.type,
                    "amount": money(e.amount),
                    "balance_after": money(e.balance_after),
                    "counterparty": str(e.counterparty_id) if e.counterparty_id else None,
                    "created_at": e.created_at.isoformat(),
                }
                for e in page
            ]

        if wants_cursor(request):

            def fetch(position: int | None, ascending: bool, limit: int) -> list[Entry]:
                rows = entries
                if position is not None:
                    rows = rows.filter(id__gt=position) if ascending else rows.filter(id__lt=position)
                return list(rows.order_by("id" if ascending else "-id")[:limit])

            return cursor_page(request, fetch, key=lambda e: e.id, render=render)
        paginator = Pagination()
        page = paginator.paginate_queryset(entries.order_by("-id"), request, view=self)
        return paginator.get_paginated_response(render(page))
