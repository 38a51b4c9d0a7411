"""Production settings refuse to start without their configuration, in one clear line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.processes import ROOT, free_port

COMPLETE = {
    "SECRET_KEY": "s",
    "ALLOWED_HOSTS": "api.example",
    "DATABASE_URL": "postgres://remit@db.example/remit",
    "REDIS_URL": "redis://cache.example:6379/0",
    "RABBITMQ_URL": "amqp://remit:secret@broker.example/remit",
    "OIDC_ISSUER": "https://id.example/realms/remit",
    "OIDC_AUDIENCE": "remit-api",
    "TIME_ZONE": "Asia/Seoul",
}


def _start(env: dict[str, str], then: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {then}"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings.production", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_complete_configuration_starts():
    assert _start(COMPLETE).returncode == 0


@pytest.mark.parametrize("name", sorted(COMPLETE))
def test_a_missing_variable_stops_start_up_naming_it(name):
    env = {k: v for k, v in COMPLETE.items() if k != name}

    result = _start(env)

    assert result.returncode != 0
    assert result.stderr.strip() == f"remit: configuration error: {name} is not set"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://db/remit"),
        ("OIDC_ISSUER", "not a url"),
        ("TIME_ZONE", "Mars/Olympus"),
        ("ACCEPT_MAX_LAG_SECONDS", "thirty"),
        ("ACCEPT_MAX_LAG_SECONDS", "0"),
        ("CORS_ALLOWED_ORIGINS", "https://app.example/path"),
        ("CORS_ALLOWED_ORIGINS", "app.example"),
        ("THROTTLE_USER_RATE", "lots"),
        ("THROTTLE_USER_RATE", "0/minute"),
    ],
)
def test_a_malformed_variable_stops_start_up_naming_it(name, value):
    result = _start({**COMPLETE, name: value})

    assert result.returncode != 0
    assert result.stderr.strip().startswith(f"remit: configuration error: {name} ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_admission_control_allows_30_seconds_of_lag_unless_configured():
    show = "from django.conf import settings; print(settings.ACCEPT_MAX_LAG_SECONDS)"

    assert _start(COMPLETE, show).stdout.strip() == "30"
    assert _start({**COMPLETE, "ACCEPT_MAX_LAG_SECONDS": "5"}, show).stdout.strip() == "5"


def test_a_database_url_with_several_hosts_connects_only_to_the_one_taking_writes():
    show = (
        "from django.conf import settings; d = settings.DATABASES['default']; "
        "print(d['HOST'], d['PORT'], d['OPTIONS']['target_session_attrs'])"
    )
    env = {**COMPLETE, "DATABASE_URL": "postgres://remit@db1.example:5432,db2.example:5433/remit"}

    assert _start(env, show).stdout.strip() == "db1.example,db2.example 5432,5433 read-write"


def test_a_rabbitmq_url_naming_a_malformed_node_stops_start_up_naming_it():
    result = _start({**COMPLETE, "RABBITMQ_URL": "amqp://remit:secret@broker1.example/remit,broker2"})

    assert result.returncode != 0
    assert result.stderr.strip().startswith("remit: configuration error: RABBITMQ_URL ")


def test_a_process_connects_to_the_database_host_that_answers():
    gone = free_port()  # nothing listens there: a primary that went away
    show = (
        "from django.db import connection; connection.ensure_connection(); "
        "print(connection.connection.info.port)"
    )
    env = {**COMPLETE, "DATABASE_URL": f"postgres://postgres@127.0.0.1:{gone},127.0.0.1:5432/postgres"}

    result = _start(env, show)

    assert result.stdout.strip() == "5432", result.stderr


def test_no_browser_origin_is_allowed_unless_configured():
    show = "from django.conf import settings; print(settings.CORS_ALLOWED_ORIGINS)"

    assert _start(COMPLETE, show).stdout.strip() == "[]"
    configured = {**COMPLETE, "CORS_ALLOWED_ORIGINS": "https://app.example, https://m.example:8443"}
    assert _start(configured, show).stdout.strip() == "['https://app.example', 'https://m.example:8443']"
