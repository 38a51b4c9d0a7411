"""The journal entries of an account, newest first."""

from __future__ import annotations

import uuid
from functools import partial

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ledger.models import Entry
from transfers.api import openapi
from transfers.api.access import caller_of
from transfers.domain.money import format_amount
from web.openapi import page_parameters, page_response
from web.pagination import Pagination, cursor_page, wants_cursor

ENTRY_TYPES = ["deposit", "withdrawal", "transfer_in", "transfer_out", "reversal"]


class EntrySchema(serializers.Serializer):
    event_id = serializers.UUIDField()
    type = serializers.ChoiceField(ENTRY_TYPES)
    amount = serializers.CharField(help_text="Signed: negative for money leaving the account.")
    balance_after = serializers.CharField()
    counterparty = serializers.UUIDField(allow_null=True, help_text="The other account of a transfer.")
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "Entry"


ENTRY_EXAMPLE = {
    "event_id": "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f",
    "type": "transfer_out",
    "amount": "-30000",
    "balance_after": "90000",
    "counterparty": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
    "created_at": "2026-11-29T18:20:31.529870+09:00",
}


class AccountEntriesView(APIView):
    read_account = None  # bound by config.bootstrap

    @extend_schema(
        operation_id="list_entries",
        parameters=[*page_parameters(cursor=True), *openapi.error_response_headers()],
        responses={
            200: page_response("EntryPage", EntrySchema(many=True), [ENTRY_EXAMPLE], cursor=True),
            **openapi.error_responses(400, 404),
        },
        summary="Journal entries of an account, newest first",
    )
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
