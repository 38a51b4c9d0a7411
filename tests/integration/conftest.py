"""Integration tests talk to the real servers: their RabbitMQ vhosts exist first."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _vhosts(rabbitmq_vhosts) -> None:
    """Every integration test may reach RabbitMQ on its vhost."""
