"""One trace per transfer: the HTTP request, the relay's publish and the worker's apply, linked as parents."""

from __future__ import annotations

import uuid

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from messaging.models import OutboxMessage
from telemetry import tracing
from tests.integration.messaging.support import consume_for, relay_once

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def spans():
    """Tracing on, every finished span kept in memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider)
    yield exporter
    tracing.use(None)


def test_a_transfer_is_one_trace_from_the_request_through_the_relay_to_the_apply(
    spans, channel, api_client_for
):
    alice = api_client_for(f"alice-{uuid.uuid4()}")
    source = alice.post("/api/v1/accounts", {"currency": "KRW"}, format="json").json()["id"]
    target = api_client_for(f"bob-{uuid.uuid4()}").post(
        "/api/v1/accounts", {"currency": "KRW"}, format="json"
    )
    alice.post(f"/api/v1/accounts/{source}/deposits", {"amount": "5000"}, format="json")
    transfer = alice.post(
        "/api/v1/transfers",
        {"from_account": source, "to_account": target.json()["id"], "amount": "2000"},
        format="json",
    )
    event_id = transfer.json()["event_id"]

    stored = OutboxMessage.objects.get(event_id=event_id).headers
    relay_once()
    consume_for(10, until_applied=2)

    finished = spans.get_finished_spans()
    (request,) = [s for s in finished if s.kind is SpanKind.SERVER and s.name == "POST api/v1/transfers"]
    (publish,) = [
        s
        for s in finished
        if s.kind is SpanKind.PRODUCER and s.attributes["messaging.message.id"] == event_id
    ]
    (apply,) = [
        s
        for s in finished
        if s.kind is SpanKind.CONSUMER and s.attributes["messaging.message.id"] == event_id
    ]
    assert transfer.status_code == 202
    assert stored["traceparent"].split("-")[2] == format(request.context.span_id, "016x")
    assert publish.parent.span_id == request.context.span_id
    assert apply.parent.span_id == publish.context.span_id
    assert {request.context.trace_id, publish.context.trace_id, apply.context.trace_id} == {
        request.context.trace_id
    }
    assert publish.name == "publish account.transfer"
    assert apply.name == "apply transfer"
    assert apply.attributes["remit.event.status"] == "completed"
    assert request.attributes["http.response.status_code"] == 202


def test_nothing_is_traced_or_stored_while_tracing_is_off(channel, api_client_for):
    alice = api_client_for(f"alice-{uuid.uuid4()}")
    source = alice.post("/api/v1/accounts", {"currency": "KRW"}, format="json").json()["id"]

    deposit = alice.post(f"/api/v1/accounts/{source}/deposits", {"amount": "5000"}, format="json")

    headers = OutboxMessage.objects.get(event_id=deposit.json()["event_id"]).headers
    assert not tracing.enabled()
    assert "traceparent" not in headers
    assert headers["x-request-id"] == deposit.headers["X-Request-ID"]
    assert headers["x-account"] == source
