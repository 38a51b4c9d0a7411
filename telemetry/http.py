"""The web process's side: request ids, per-request metrics and spans, and the `/metrics` endpoint."""

from __future__ import annotations

import time
from contextlib import nullcontext

from django.http import HttpRequest, HttpResponse

from telemetry import context, metrics, tracing


class RequestTelemetry:
    """Outermost middleware: takes the client's X-Request-ID or makes one, binds it (and later the
    user) to every log line of the request, echoes it on the response, counts and times the request
    by its route pattern, and wraps it in a server span when tracing is on."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = context.accept_request_id(request.META.get("HTTP_X_REQUEST_ID"))
        request.META[context.ENVIRON_REQUEST_ID] = request_id
        tokens = context.request_id.set(request_id), context.user.set(None)
        started = time.perf_counter()
        try:
            # request.headers is built on first use: only when tracing needs it.
            scope = (
                tracing.server_span(request.method, request.headers) if tracing.enabled() else nullcontext()
            )
            with scope as span:
                response = self.get_response(request)
                route = _route(request)
                if span is not None:
                    span.update_name(f"{request.method} {route}")
                    span.set_attribute("http.route", route)
                    span.set_attribute("http.response.status_code", response.status_code)
            response["X-Request-ID"] = request_id
            metrics.http_requests.labels(request.method, route, response.status_code).inc()
            metrics.http_request_duration.labels(request.method, route).observe(time.perf_counter() - started)
            user = context.user.get() or _session_user(request)
            if user is not None:
                request.META[context.ENVIRON_USER] = user
            return response
        finally:
            context.user.reset(tokens[1])
            context.request_id.reset(tokens[0])


def _route(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    # Unmatched paths share one label: a scanner's paths must not each make a time series.
    return match.route if match is not None and match.route else "unmatched"


def _session_user(request: HttpRequest) -> str | None:
    user = getattr(request, "user", None)  # the admin's session user; API users are bound earlier
    return user.get_username() if user is not None and user.is_authenticated else None


def metrics_view(request: HttpRequest) -> HttpResponse:
    """`GET /metrics`: every worker of this web process together, in Prometheus text format."""
    body, content_type = metrics.exposition()
    return HttpResponse(body, content_type=content_type)
