"""Session-wide test set-up: the OIDC issuer plugin, and the RabbitMQ vhosts the server tests keep to."""

from __future__ import annotations

import os
import subprocess

import pytest
from django.conf import settings

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


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """This process's own sessions may idle in a transaction: pytest-django keeps one open through
    each test, which may wait on child processes and servers for longer than production allows.
    The processes a test starts keep every limit."""
    options = settings.DATABASES["default"]["OPTIONS"]
    options["options"] += " -c idle_in_transaction_session_timeout=0"
