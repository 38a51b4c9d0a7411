"""The worker's metrics endpoint, and the outbox figures it reads from PostgreSQL at each scrape."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.db import DatabaseError, connection
from prometheus_client import REGISTRY, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from messaging.models import OutboxMessage

log = logging.getLogger(__name__)

_DEPTH = f"""
SELECT count(*), coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)
FROM {OutboxMessage._meta.db_table} WHERE mod(shard_key, %s) = %s
"""


class OutboxGauges(Collector):
    """`remit_outbox_depth` and `remit_outbox_oldest_age_seconds` of one shard, read when scraped (a
    standby worker reports the same shard as the active one: take the max per shard, not the sum)."""

    def __init__(self, *, shard: int, shards: int) -> None:
        self._shard = shard
        self._shards = shards

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "remit_outbox_depth", "Messages in the outbox waiting for the relay.", labels=["shard"]
        )
        age = GaugeMetricFamily(
            "remit_outbox_oldest_age_seconds",
            "Age of the oldest message in the outbox (0 when empty).",
            labels=["shard"],
        )
        try:
            with connection.cursor() as cursor:
                cursor.execute(_DEPTH, [self._shards, self._shard])
                count, oldest = cursor.fetchone()
        except DatabaseError as exc:
            log.warning("metrics: cannot read the outbox: %s", exc)
            return  # the families are missing from this scrape, which an alert on absent() notices
        finally:
            connection.close()  # each scrape runs on a thread of its own: keep no connection
        depth.add_metric([str(self._shard)], count)
        age.add_metric([str(self._shard)], float(oldest))
        yield depth
        yield age


def serve(*, port: int, address: str, shard: int, shards: int) -> None:
    """Serve this process's metrics on `address:port` from a daemon thread; raises OSError if taken."""
    REGISTRY.register(OutboxGauges(shard=shard, shards=shards))
    start_http_server(port, addr=address)
    log.info("serving metrics on %s:%s/metrics", address or "*", port)
