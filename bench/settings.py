"""Benchmark settings: the dev settings on their own database, vhost and Redis database, plus a no-op URL."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/remit_bench")
os.environ.setdefault("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/remit_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/2")
os.environ.setdefault("DEBUG", "false")
# The accept rate is measured with the workers stopped: a backlog minutes old is the point, not overload.
os.environ.setdefault("ACCEPT_MAX_LAG_SECONDS", "3600")

from config.settings.dev import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
