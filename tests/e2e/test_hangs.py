"""Hangs become errors: a request or a batch waiting on a held lock fails within the lock timeout.

These run on a database and a vhost of their own, so that only the workers a test starts apply
events: what they measure is our processes, not another system's work.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.conftest import NAMESPACE
from tests.support.api import ApiUser
from tests.support.oidc_issuer import LoopbackIssuer
from tests.support.processes import (
    ROOT,
    Process,
    api_process,
    child_environment,
    wait_until_ready,
    worker_process,
)

DATABASE = f"test_remit{NAMESPACE}_hangs"
VHOST = f"remit_e2e_hangs{NAMESPACE}"
SERVER = "postgres://postgres@127.0.0.1:5432"
LOCK_TIMEOUT = 2.0


@dataclass
class System:
    env: dict[str, str]
    logs: Path
    base_url: str
    issuer: LoopbackIssuer

    def user(self) -> ApiUser:
        return ApiUser(self.base_url, self.issuer.token(f"user-{uuid.uuid4()}"))

    def worker(self, name: str) -> Process:
        process = worker_process(self.env, self.logs, name=name)
        process.start()
        return process


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=False, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def system(oidc_issuer: LoopbackIssuer, tmp_path_factory) -> Iterator[System]:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DATABASE}")
    _rabbitmqctl("delete_vhost", VHOST)
    _rabbitmqctl("add_vhost", VHOST)
    _rabbitmqctl("set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*")
    logs = tmp_path_factory.mktemp("hangs")
    env = child_environment(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=f"{SERVER}/{DATABASE}",
        OIDC_ISSUER=oidc_issuer.issuer,
        RABBITMQ_URL=f"amqp://guest:guest@127.0.0.1:5672/{VHOST}",
        ACCOUNT_EVENT_SHARDS="1",
    )
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    api, base_url = api_process(env, logs)
    api.start()
    try:
        wait_until_ready(base_url, api)
        yield System(env, logs, base_url, oidc_issuer)
    finally:
        api.stop()
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        _rabbitmqctl("delete_vhost", VHOST)


@pytest.fixture
def db() -> Iterator[psycopg.Connection]:
    """A plain session on the test's database, with none of our limits: the test's own hand."""
    with psycopg.connect(f"{SERVER}/{DATABASE}", autocommit=True) as connection:
        yield connection


@pytest.fixture
def workers() -> Iterator[list[Process]]:
    """Workers a test starts; each is stopped after the test."""
    started: list[Process] = []
    yield started
    for worker in started:
        worker.stop()


def _wait_for(condition: Callable[[], object], what: str, timeout: float) -> float:
    """Seconds until `condition()` is true; fails after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(0.05)
    return time.monotonic() - started


def _final(db: psycopg.Connection, event_ids: list[str]) -> bool:
    row = db.execute(
        "SELECT count(*) FROM transfers_event WHERE event_id = ANY(%s) AND status <> 'pending'",
        [[uuid.UUID(e) for e in event_ids]],
    ).fetchone()
    return row[0] == len(event_ids)


def _funded_account(system: System, db: psycopg.Connection, user: ApiUser) -> str:
    account = user.open_account("KRW")["id"]
    deposit = user.deposit(account, "100000")
    assert deposit.status_code == 202, deposit.text
    _wait_for(lambda: _final(db, [deposit.json()["event_id"]]), "the first deposit applied", 30)
    return account


def test_a_request_waiting_on_a_held_row_lock_is_answered_503_within_the_lock_timeout(system, db):
    user = system.user()
    account = user.open_account("KRW")["id"]
    assert user.withdraw(account, "1000").status_code == 202  # creates today's limit row

    with db.transaction():
        db.execute("SELECT FROM transfers_limitusage WHERE account_id = %s FOR UPDATE", [account])
        started = time.monotonic()
        waited = user.withdraw(account, "1000")
        elapsed = time.monotonic() - started
    after = user.withdraw(account, "1000")

    assert (waited.status_code, waited.json()["error"]["code"]) == (503, "service_unavailable")
    assert LOCK_TIMEOUT <= elapsed < LOCK_TIMEOUT + 2
    assert after.status_code == 202
    count = db.execute("SELECT count(*) FROM transfers_event WHERE account_id = %s", [account]).fetchone()
    assert count[0] == 2


def test_the_worker_gives_up_a_lock_wait_within_the_lock_timeout_and_applies_once_released(
    system, db, workers
):
    workers.append(system.worker("worker"))
    user = system.user()
    account = _funded_account(system, db, user)
    waits: dict[tuple[int, object], float] = {}

    with db.transaction():
        holder = db.execute(
            "SELECT pg_backend_pid() FROM accounts_account WHERE id = %s FOR NO KEY UPDATE", [account]
        ).fetchone()[0]
        deposit = user.deposit(account, "1000").json()["event_id"]
        deadline = time.monotonic() + 3 * LOCK_TIMEOUT + 2
        with psycopg.connect(f"{SERVER}/{DATABASE}", autocommit=True) as observer:
            while time.monotonic() < deadline:
                for pid, started, seconds in observer.execute(
                    "SELECT pid, query_start, extract(epoch FROM clock_timestamp() - query_start)::float"
                    " FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                    [holder],
                ):
                    waits[pid, started] = max(seconds, waits.get((pid, started), 0))
                time.sleep(0.05)
        still_pending = not _final(db, [deposit])
    applied_after = _wait_for(lambda: _final(db, [deposit]), "the deposit applied after release", 20)

    print(f"\nworker lock waits (s): {sorted(round(s, 2) for s in waits.values())}; ")
    print(f"applied {applied_after:.2f}s after the lock was released")
    assert len(waits) >= 2  # it gave up, and tried again
    assert max(waits.values()) < LOCK_TIMEOUT + 0.5
    assert still_pending
    balance = db.execute("SELECT balance FROM accounts_account WHERE id = %s", [account]).fetchone()[0]
    assert balance == 101000
