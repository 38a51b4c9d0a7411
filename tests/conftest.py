"""Session-wide test set-up: the OIDC issuer plugin, and the RabbitMQ vhosts the server tests keep to."""

from __future__ import annotations

import os
import subprocess

import pytest

pytest_plugins = ["tests.support.oidc_fixtures"]

# In-process tests use remit_test (config.settings.test); the end-to-end systems' processes use the others.
NAMESPACE = os.environ.get("REMIT_TEST_NAMESPACE", "")
VHOSTS = tuple(f"{name}{NAMESPACE}" for name in ("remit_test", "remit_e2e", "remit_e2e_shards"))


@pytest.fixture(scope="session")
def rabbitmq_vhosts() -> None:
    """Asked for by every test that talks to servers (tests/integration, tests/e2e), so that
    tests/unit runs on a machine with no server and no server tool."""
    existing = subprocess.run(
        ["rabbitmqctl", "-q", "list_vhosts"], check=True, capture_output=True, text=True, timeout=120
    ).stdout.split()
    for vhost in VHOSTS:
        if vhost not in existing:
            subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True, timeout=120)
            subprocess.run(
                ["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
                check=True,
                timeout=120,
            )
