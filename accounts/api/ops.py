"""Freezing and unfreezing an account (ops, with a reason): POST …/freeze, …/unfreeze."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.views import ACCOUNT_EXAMPLE, _account_response, _one
from transfers.api import openapi
from transfers.api.access import caller_of
from transfers.api.reasons import ReasonRequest, reason_of


class _StatusView(APIView):
    set_account_frozen = None  # these are bound by config.bootstrap
    limit_figures = None
    frozen: bool

    def post(self, request, account_id: uuid.UUID) -> Response:
        self.set_account_frozen(
            caller=caller_of(request), account_id=account_id, frozen=self.frozen, reason=reason_of(request)
        )
        return Response(_one(account_id, self.limit_figures))


def _documented(operation_id: str, status: str, reason: str, summary: str):
    return extend_schema(
        operation_id=operation_id,
        request=ReasonRequest,
        parameters=openapi.error_response_headers(),
        responses={
            200: _account_response(200, {**ACCOUNT_EXAMPLE, "status": status}),
            **openapi.error_responses(400, 403, 404, 415, 422),
        },
        examples=[OpenApiExample("reason", {"reason": reason})],
        summary=summary,
    )


@extend_schema_view(
    post=_documented(
        "freeze_account",
        "frozen",
        "Card reported stolen (ticket 4410).",
        "Freeze an account (ops): movements touching it are refused, reads go on",
    )
)
class FreezeAccountView(_StatusView):
    frozen = True


@extend_schema_view(
    post=_documented(
        "unfreeze_account", "active", "The customer confirmed the card is back.", "Unfreeze an account (ops)"
    )
)
class UnfreezeAccountView(_StatusView):
    frozen = False
