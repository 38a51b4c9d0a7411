"""Every process's PostgreSQL session carries our timeouts and TCP keepalives, on both ends."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.db import connection

from tests.support.processes import ROOT, child_environment

# Run as the API and the worker start: settings loaded from scratch, the configured connection.
PROBE = """
import json, socket
import django
django.setup()
import pytest
from django.db import connection

names = %r
with connection.cursor() as cursor:
    server = {}
    for name in names:
        cursor.execute("SELECT current_setting(%%s)", [name])
        server[name] = cursor.fetchone()[0]
own = socket.socket(fileno=connection.connection.fileno())
try:
    client = {
        "SO_KEEPALIVE": own.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
        "TCP_KEEPIDLE": own.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
        "TCP_KEEPINTVL": own.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
        "TCP_KEEPCNT": own.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
        "TCP_USER_TIMEOUT": own.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
    }
finally:
    own.detach()
print(json.dumps({"server": server, "client": client}))
"""

SERVER_SIDE = {
    "statement_timeout": "5s",
    "lock_timeout": "2s",
    "idle_in_transaction_session_timeout": "10s",
    "tcp_keepalives_idle": "5",
    "tcp_keepalives_interval": "2",
    "tcp_keepalives_count": "3",
    "tcp_user_timeout": "10000",
    "client_connection_check_interval": "2s",
}


def _probe_a_new_process() -> dict:
    database = connection.settings_dict
    env = child_environment(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
    )
    result = subprocess.run(
        [sys.executable, "-c", PROBE % (list(SERVER_SIDE),)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.django_db
def test_a_process_s_session_has_the_statement_lock_and_idle_transaction_timeouts():
    session = _probe_a_new_process()

    assert session["server"] == SERVER_SIDE


@pytest.mark.django_db
def test_a_process_s_socket_sends_keepalives_and_gives_up_on_unacknowledged_data():
    session = _probe_a_new_process()

    assert session["client"] == {
        "SO_KEEPALIVE": 1,
        "TCP_KEEPIDLE": 5,
        "TCP_KEEPINTVL": 2,
        "TCP_KEEPCNT": 3,
        "TCP_USER_TIMEOUT": 10000,
    }
