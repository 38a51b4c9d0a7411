"""Tracing is off unless OpenTelemetry's standard variables ask for it."""

from __future__ import annotations

import pytest

from telemetry import tracing

NAMES = (
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)


@pytest.mark.parametrize(
    ("variables", "on"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, False),
        ({"OTEL_SERVICE_NAME": "remit"}, False),
    ],
)
def test_tracing_is_configured_only_by_an_exporter_or_endpoint(monkeypatch, variables, on):
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)

    assert tracing.configured_by_environment() is on


def test_while_tracing_is_off_nothing_is_carried():
    assert not tracing.enabled()
    assert tracing.current_context_headers() == {}
    with tracing.producer_span(
        "publish", {"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"}
    ) as headers:
        assert headers == {}
