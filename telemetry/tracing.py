"""OpenTelemetry tracing, off unless the standard `OTEL_*` variables configure an exporter.

A transfer is one trace: the HTTP request's span, the relay's publish span (its parent travels in
the outbox row's headers) and the worker's apply span (its parent travels in the message's headers).
While tracing is off, every helper here returns at once and stores nothing.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext

from opentelemetry import propagate, trace

_tracer: trace.Tracer | None = None
_provider: trace.TracerProvider | None = None
_EXPORTER_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def configured_by_environment() -> bool:
    """Tracing is on when an exporter is named or an OTLP endpoint is given, and the SDK is not disabled."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    return bool(exporter) or any(os.environ.get(name, "").strip() for name in _EXPORTER_VARIABLES)


def configure_from_environment(service_name: str) -> None:
    """Start tracing if the environment asks for it (OTEL_TRACES_EXPORTER=otlp|console, or an OTLP
    endpoint; OTEL_SERVICE_NAME overrides `service_name`)."""
    if _tracer is not None or not configured_by_environment():
        return
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    name = os.environ.get("OTEL_SERVICE_NAME") or service_name
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
    if os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "console":
        exporter = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    use(provider)


def use(provider: trace.TracerProvider | None) -> None:
    """Trace through `provider` (tests hand in one with an in-memory exporter); None turns tracing off."""
    global _tracer, _provider
    _provider = provider
    _tracer = None if provider is None else provider.get_tracer("remit")


def shutdown() -> None:
    """Send the spans still buffered (before a process exits without the usual clean-up)."""
    global _tracer, _provider
    if _provider is not None and hasattr(_provider, "shutdown"):
        _provider.shutdown()
    _tracer = _provider = None


def enabled() -> bool:
    return _tracer is not None


def server_span(name: str, headers: Mapping[str, str], **attributes: str | int):
    """The span of an HTTP request, child of the client's `traceparent` if it sent one."""
    if _tracer is None:
        return nullcontext(None)
    return _tracer.start_as_current_span(
        name, context=propagate.extract(headers), kind=trace.SpanKind.SERVER, attributes=attributes
    )


def current_context_headers() -> dict[str, str]:
    """The current span's context as W3C headers (`traceparent`, `tracestate`), to store or send on."""
    if _tracer is None:
        return {}
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


@contextmanager
def producer_span(name: str, parent_headers: Mapping[str, str], **attributes: str | int) -> Iterator[dict]:
    """A span for publishing one message, child of the context in `parent_headers`; yields the headers
    that make the message's consumer its child (empty while tracing is off)."""
    if _tracer is None:
        yield {}
        return
    parent = propagate.extract(parent_headers)
    with _tracer.start_as_current_span(
        name, context=parent, kind=trace.SpanKind.PRODUCER, attributes=attributes
    ):
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        yield carrier


def record_consumer_span(
    name: str,
    parent_headers: Mapping[str, str],
    *,
    start: dt.datetime,
    end: dt.datetime,
    **attributes: str | int,
) -> None:
    """A finished span for applying one message's event, child of the context in its headers."""
    if _tracer is None:
        return
    span = _tracer.start_span(
        name,
        context=propagate.extract(parent_headers),
        kind=trace.SpanKind.CONSUMER,
        attributes=attributes,
        start_time=_nanos(start),
    )
    span.end(end_time=_nanos(end))


def _nanos(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1_000_000_000)
