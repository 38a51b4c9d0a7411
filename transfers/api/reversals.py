"""Reversals (ops): request one for a completed event, list them, approve or decline (four eyes)."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from transfers.api import openapi
from transfers.api.access import caller_of
from transfers.api.reasons import ReasonRequest, reason_of
from transfers.api.representations import event_json
from transfers.domain import errors
from transfers.domain.model import EventStatus, ReversalStatus
from transfers.models import Event
from transfers.models import ReversalRequest as ReversalRequestRow
from web.openapi import page_parameters, page_response
from web.pagination import Pagination


class ReversalRequestSchema(serializers.Serializer):
    id = serializers.UUIDField()
    event_id = serializers.UUIDField(help_text="The event to reverse.")
    status = serializers.ChoiceField([s.value for s in ReversalStatus])
    requested_by = serializers.CharField(help_text="The requester's token subject.")
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    decided_by = serializers.CharField(allow_null=True, help_text="Who approved or declined it.")
    decision_reason = serializers.CharField(allow_blank=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    reversal_event_id = serializers.UUIDField(allow_null=True, help_text="Once approved: the reversal event.")

    class Meta:
        ref_name = "ReversalRequest"


REVERSAL_EXAMPLE = {
    "id": "6d7e8f9a-0b1c-4d2e-8f3a-4b5c6d7e8f9a",
    "event_id": "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f",
    "status": "awaiting_approval",
    "requested_by": "a933c6ae-71c1-4420-a57b-d8c583789149",
    "reason": "Customer paid the wrong account (ticket 4411).",
    "created_at": "2026-11-30T09:58:40.118237+09:00",
    "decided_by": None,
    "decision_reason": "",
    "decided_at": None,
    "reversal_event_id": None,
}
_REASON_EXAMPLE = OpenApiExample("reason", {"reason": "Customer paid the wrong account (ticket 4411)."})


def _reversal_response(status: int, example: dict) -> OpenApiResponse:
    return OpenApiResponse(
        ReversalRequestSchema, examples=[OpenApiExample("request", example, status_codes=[status])]
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
        operation_id="request_reversal",
        request=ReasonRequest,
        parameters=[openapi.LOCATION_OF_REVERSAL, *openapi.error_response_headers()],
        responses={
            201: _reversal_response(201, REVERSAL_EXAMPLE),
            **openapi.error_responses(400, 403, 404, 415, 422),
        },
        examples=[_REASON_EXAMPLE],
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
        operation_id="list_reversals",
        parameters=[
            OpenApiParameter(
                "status",
                str,
                enum=[s.value for s in ReversalStatus],
                description="Only requests in this status.",
            ),
            *page_parameters(cursor=False),
            *openapi.error_response_headers(),
        ],
        responses={
            200: page_response(
                "ReversalRequestPage", ReversalRequestSchema(many=True), [REVERSAL_EXAMPLE], cursor=False
            ),
            **openapi.error_responses(400, 403, 404),
        },
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
        operation_id="approve_reversal",
        request=ReasonRequest,
        parameters=[openapi.LOCATION_OF_REVERSAL_EVENT, *openapi.error_response_headers()],
        responses={
            202: OpenApiResponse(
                openapi.EventSchema,
                examples=[OpenApiExample("reversal", openapi.PENDING_REVERSAL, status_codes=[202])],
            ),
            **openapi.error_responses(400, 403, 404, 415, 422),
        },
        examples=[OpenApiExample("reason", {"reason": "Checked with the customer."})],
        summary="Approve a reversal request (ops, not its requester): the reversal event is accepted",
    )
    def post(self, request, request_id: uuid.UUID) -> Response:
        event = self.approve_reversal(
            caller=caller_of(request), request_id=request_id, reason=reason_of(request)
        )
        # Committed: the answer is built from the event in hand, never from a read that could fail.
        row = Event(
            event_id=event.id,
            type=event.movement.type.value,
            status=EventStatus.PENDING.value,
            account_id=event.movement.account_id,
            counterparty_id=event.movement.counterparty_id,
            reverses_id=event.movement.reverses,
            amount=event.amount,
            currency=event.currency.code,
            reference=event.movement.reference,
            created_at=event.accepted_at,
        )
        return Response(event_json(row), status=202, headers={"Location": f"/api/v1/events/{event.id}"})


class DeclineReversalView(APIView):
    decline_reversal = None  # bound by config.bootstrap

    @extend_schema(
        operation_id="decline_reversal",
        request=ReasonRequest,
        parameters=openapi.error_response_headers(),
        responses={
            200: _reversal_response(
                200,
                {
                    **REVERSAL_EXAMPLE,
                    "status": "declined",
                    "decided_by": "0c0a3d52-2f0e-4d8e-9a61-7f1c2b4e8d33",
                    "decision_reason": "The customer's payment was right.",
                    "decided_at": "2026-11-30T10:05:02.771043+09:00",
                },
            ),
            **openapi.error_responses(400, 403, 404, 415, 422),
        },
        examples=[OpenApiExample("reason", {"reason": "The customer's payment was right."})],
        summary="Decline a reversal request (ops, not its requester), with a reason",
    )
    def post(self, request, request_id: uuid.UUID) -> Response:
        declined = self.decline_reversal(
            caller=caller_of(request), request_id=request_id, reason=reason_of(request)
        )
        return Response(reversal_json(_row(declined.id)))
