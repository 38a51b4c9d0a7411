"""Reversals (ops): request one for a completed event, list them, approve or decline (four eyes)."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from transfers.api.access import caller_of
from transfers.api.reasons import ReasonRequest, reason_of
from transfers.api.representations import event_json
from transfers.api.views import EVENT_SCHEMA
from transfers.domain import errors
from transfers.domain.model import ReversalStatus
from transfers.models import Event
from transfers.models import ReversalRequest as ReversalRequestRow
from web.pagination import Pagination

REVERSAL_SCHEMA = inline_serializer(
    "ReversalRequest",
    {
        "id": serializers.UUIDField(),
        "event_id": serializers.UUIDField(),
        "status": serializers.ChoiceField([s.value for s in ReversalStatus]),
        "requested_by": serializers.CharField(),
        "reason": serializers.CharField(),
        "created_at": serializers.DateTimeField(),
        "decided_by": serializers.CharField(allow_null=True),
        "decision_reason": serializers.CharField(),
        "decided_at": serializers.DateTimeField(allow_null=True),
        "reversal_event_id": serializers.UUIDField(allow_null=True),
    },
)


def reversal_json(row: ReversalRequestRow) -> dict:
    """A reversal request; users are named by their token subject, as the API knows them."""
    return {
        "id": str(row.id),
        "event_id": str(row.event_id),
        "status": row.status,
        "requested_by": row.requested_by.username,
        "reason": row.reason,
        "created_at": row.created_at.isoformat(),
        "decided_by": row.decided_by.username if row.decided_by else None,
        "decision_reason": row.decision_reason,
        "decided_at": row.decided_at.isoformat() if row.decided_at else None,
        "reversal_event_id": str(row.reversal_event_id) if row.reversal_event_id else None,
    }


def _row(request_id: uuid.UUID) -> ReversalRequestRow:
    return ReversalRequestRow.objects.select_related("requested_by", "decided_by").get(id=request_id)


class RequestReversalView(APIView):
    request_reversal = None  # bound by config.bootstrap

    @extend_schema(
        request=ReasonRequest,
        responses={201: REVERSAL_SCHEMA},
        summary="Request the reversal of a completed event (ops); another ops person approves it",
    )
    def post(self, request, event_id: uuid.UUID) -> Response:
        created = self.request_reversal(
            caller=caller_of(request), event_id=event_id, reason=reason_of(request)
        )
        return Response(
            reversal_json(_row(created.id)),
            status=201,
            headers={"Location": f"/api/v1/reversals/{created.id}"},
        )


class ReversalsView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=[s.value for s in ReversalStatus])],
        responses={200: REVERSAL_SCHEMA},
        summary="Reversal requests, newest first (ops)",
    )
    def get(self, request) -> Response:
        if not caller_of(request).is_ops:
            raise errors.Forbidden("Only ops staff may list reversal requests.")
        rows = ReversalRequestRow.objects.select_related("requested_by", "decided_by")
        wanted = request.query_params.get("status")
        if wanted is not None:
            if wanted not in {s.value for s in ReversalStatus}:
                raise errors.ValidationFailed({"status": [f"must be one of {', '.join(ReversalStatus)}"]})
            rows = rows.filter(status=wanted)
        paginator = Pagination()
        page = paginator.paginate_queryset(rows.order_by("-created_at", "-id"), request, view=self)
        return paginator.get_paginated_response([reversal_json(r) for r in page])


class ApproveReversalView(APIView):
    approve_reversal = None  # bound by config.bootstrap

    @extend_schema(
        request=ReasonRequest,
        responses={202: EVENT_SCHEMA},
        summary="Approve a reversal request (ops, not its requester): the reversal event is accepted",
    )
    def post(self, request, request_id: uuid.UUID) -> Response:
        event = self.approve_reversal(
            caller=caller_of(request), request_id=request_id, reason=reason_of(request)
        )
        row = Event.objects.get(event_id=event.id)
        return Response(event_json(row), status=202, headers={"Location": f"/api/v1/events/{event.id}"})


class DeclineReversalView(APIView):
    decline_reversal = None  # bound by config.bootstrap

    @extend_schema(
        request=ReasonRequest,
        responses={200: REVERSAL_SCHEMA},
        summary="Decline a reversal request (ops, not its requester), with a reason",
    )
    def post(self, request, request_id: uuid.UUID) -> Response:
        declined = self.decline_reversal(
            caller=caller_of(request), request_id=request_id, reason=reason_of(request)
        )
        return Response(reversal_json(_row(declined.id)))
