"""Every Prometheus family Remit exports (API.md "Operations", and what an operator alerts on).

The web process runs under gunicorn in multiprocess mode (`PROMETHEUS_MULTIPROC_DIR`, set by
deploy/gunicorn.conf.py), so `GET /metrics` adds up all its workers; the worker process serves its own
registry (`consume_account_events --metrics-port N`). Gauges say how workers' values combine.
"""

from __future__ import annotations

import os

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

# A `*_created` timestamp beside every counter doubles the output and tells an operator nothing.
disable_created_metrics()

# --- the web process -------------------------------------------------------------------------------

http_requests = Counter(
    "remit_http_requests_total", "HTTP requests answered, by route pattern.", ["method", "route", "status"]
)
http_request_duration = Histogram(
    "remit_http_request_duration_seconds",
    "Time from the request reaching Django to the response leaving it.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
events_accepted = Counter(
    "remit_events_accepted_total", "Movements accepted (202, first time; not idempotent replays).", ["type"]
)
admission_refusals = Counter(
    "remit_admission_refusals_total", "Movements refused 429 overloaded by admission control."
)
admission_max_lag = Gauge(
    "remit_admission_max_lag_seconds",
    "ACCEPT_MAX_LAG_SECONDS: movements are refused while the oldest pending event is older.",
    multiprocess_mode="livemax",
)
admission_oldest_pending_age = Gauge(
    "remit_admission_oldest_pending_age_seconds",
    "Age of the oldest event waiting for the worker, as admission control last read it (at most once a "
    "second, while movements arrive).",
    multiprocess_mode="livemax",
)
oidc_key_refreshes = Counter(
    "remit_oidc_key_refreshes_total", "Fetches of the identity provider's signing keys (JWKS).", ["outcome"]
)

# --- both processes ---------------------------------------------------------------------------------

limit_cache_bypassed_until = Gauge(
    "remit_limit_cache_bypassed_until_seconds",
    "Unix time until which the limit cache is bypassed after a Redis failure (PostgreSQL answers"
    " meanwhile; the next call after it asks Redis again); bypassed now: greater than time().",
    multiprocess_mode="livemax",
)
limit_cache_failures = Counter(
    "remit_limit_cache_failures_total", "Redis calls that failed or timed out (each starts a bypass)."
)

# --- the worker process -----------------------------------------------------------------------------

events_final = Counter(
    "remit_events_final_total",
    "Events the worker made final; reason is empty for completed ones.",
    ["type", "status", "reason"],
)
event_apply_lag = Histogram(
    "remit_event_apply_lag_seconds",
    "From an event's acceptance (its 202) to the commit that made it final.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800),
)
apply_batch_size = Histogram(
    "remit_apply_batch_size",
    "Events in one delivery batch the consumer applied in one transaction.",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
events_parked = Counter(
    "remit_events_parked_total", "Events PostgreSQL refused to write; each parks its account."
)
apply_retries = Counter(
    "remit_apply_retries_total", "Batches tried again because the database could not apply them."
)
dead_letters = Counter("remit_dead_letters_total", "Messages sent to the dead-letter queue.", ["reason"])
consumer_up = Gauge(
    "remit_consumer_up", "1 while the consumer is connected and consuming its queue, else 0.", ["shard"]
)
relay_up = Gauge(
    "remit_relay_up",
    "1 while this process relays its shard's outbox (holds the relay lock, broker connected), else 0.",
    ["shard"],
)
relay_published = Counter("remit_relay_published_total", "Outbox messages sent to RabbitMQ.", ["shard"])
relay_confirmed = Counter(
    "remit_relay_confirmed_total",
    "Outbox messages RabbitMQ confirmed (and the relay then deleted from the outbox).",
    ["shard"],
)


def exposition() -> tuple[bytes, str]:
    """This process's metrics in the text format; under gunicorn, all its workers' together."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST
