"""Freezing and unfreezing an account (ops, with a reason): POST …/freeze, …/unfreeze."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.views import ACCOUNT_SCHEMA, _one
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


@extend_schema(
    request=ReasonRequest,
    responses={200: ACCOUNT_SCHEMA},
    summary="Freeze an account (ops): movements touching it are refused, reads go on",
)
class FreezeAccountView(_StatusView):
    frozen = True


@extend_schema(request=ReasonRequest, responses={200: ACCOUNT_SCHEMA}, summary="Unfreeze an account (ops)")
class UnfreezeAccountView(_StatusView):
    frozen = False
