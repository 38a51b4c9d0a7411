"""Hangs become errors: a held lock, a frozen worker, killed sessions and a cut network end in seconds.

These run on a database and a vhost of their own, so that only the workers a test starts can hold
the relay's lock or consume the queue: what they measure is the takeover, not another system's work.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from messaging.relay import RELAY_LOCK
from tests.conftest import NAMESPACE
from tests.support.api import ApiUser
from tests.support.network import Forwarder, namespaces_available, network_namespace
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

    def worker(self, name: str, *, env: dict[str, str] | None = None, prefix: list[str] = ()) -> Process:
        process = worker_process(env or self.env, self.logs, name=name)
        process.argv = [*prefix, *process.argv]
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
    """Workers a test starts; each is resumed if frozen and stopped after the test."""
    started: list[Process] = []
    yield started
    for worker in started:
        if worker.popen is not None and worker.popen.poll() is None:
            os.kill(worker.popen.pid, signal.SIGCONT)
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


def _relay_lock_holder(db: psycopg.Connection) -> int | None:
    """The backend holding shard 0's relay lock (two int4 keys: classid, objid, objsubid 2)."""
    row = db.execute(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid::bigint = %s"
        " AND objid = 0 AND objsubid = 2 AND database = (SELECT oid FROM pg_database WHERE datname = %s)",
        [RELAY_LOCK % 2**32, DATABASE],
    ).fetchone()
    return row[0] if row else None


def _sessions_of(db: psycopg.Connection, process: Process) -> list[int]:
    """The backends serving a process, by the local ports of its sockets."""
    pid = process.popen.pid
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd)
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = [
        int(fields[1].rsplit(":", 1)[1], 16)
        for fields in (line.split() for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:])
        if fields[9] in inodes
    ]
    rows = db.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND client_port = ANY(%s)", [DATABASE, ports]
    ).fetchall()
    return [row[0] for row in rows]


def _funded_account(system: System, db: psycopg.Connection, user: ApiUser) -> str:
    account = user.open_account("KRW")["id"]
    deposit = user.deposit(account, "100000")
    assert deposit.status_code == 202, deposit.text
    _wait_for(lambda: _final(db, [deposit.json()["event_id"]]), "the first deposit applied", 30)
    return account


def _active_and_standby(system: System, db: psycopg.Connection, workers: list[Process]):
    """Two workers for shard 0: the first has the relay lock and the queue, the second waits."""
    active = system.worker("active")
    workers.append(active)
    user = system.user()
    account = _funded_account(system, db, user)
    holder = _relay_lock_holder(db)
    assert holder in _sessions_of(db, active)
    standby = system.worker("standby")
    workers.append(standby)
    _wait_for(
        lambda: "standing by" in standby.log() and "consuming" in standby.log(), "the standby waiting", 30
    )
    return active, standby, user, account


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


def test_a_standby_takes_over_the_shard_of_a_frozen_worker_within_seconds(system, db, workers):
    active, standby, user, account = _active_and_standby(system, db, workers)
    frozen_holder = _relay_lock_holder(db)

    os.kill(active.popen.pid, signal.SIGSTOP)
    frozen_at = time.monotonic()
    accepted = [user.deposit(account, "1000").json()["event_id"] for _ in range(5)]
    _wait_for(lambda: _final(db, accepted), "events applied with the active worker frozen", 40)
    takeover = time.monotonic() - frozen_at
    assert _relay_lock_holder(db) not in (None, frozen_holder)
    os.kill(active.popen.pid, signal.SIGCONT)
    after = [user.deposit(account, "1000").json()["event_id"]]
    resumed = _wait_for(lambda: _final(db, after), "an event applied after the frozen worker woke", 30)

    print(f"\nfrozen worker: events applied {takeover:.1f}s after SIGSTOP; then {resumed:.1f}s after SIGCONT")
    assert takeover < 25
    assert _relay_lock_holder(db) in _sessions_of(db, standby)
    assert "lost a connection" in active.log()
    _assert_reconciles(system)


def test_a_worker_whose_database_sessions_are_terminated_resumes_within_seconds(system, db, workers):
    active, _standby, user, account = _active_and_standby(system, db, workers)
    sessions = _sessions_of(db, active)
    assert _relay_lock_holder(db) in sessions

    db.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [sessions])
    terminated_at = time.monotonic()
    accepted = [user.deposit(account, "1000").json()["event_id"] for _ in range(5)]
    resumed = _wait_for(lambda: _final(db, accepted), "events applied after the sessions died", 20)

    print(f"\nterminated sessions: events applied {time.monotonic() - terminated_at:.1f}s after")
    assert resumed < 10
    assert _relay_lock_holder(db) not in (None, *sessions)
    _assert_reconciles(system)


@pytest.mark.skipif(not namespaces_available(), reason="needs root and iproute2 for a network namespace")
def test_a_peer_that_vanished_without_a_fin_is_noticed_within_seconds(system, db, workers):
    with (
        network_namespace() as namespace,
        Forwarder(namespace.host_address, ("127.0.0.1", 5432)) as postgresql,
        Forwarder(namespace.host_address, ("127.0.0.1", 5672)) as rabbitmq,
        Forwarder(namespace.host_address, ("127.0.0.1", 6379)) as redis,
    ):
        host = namespace.host_address
        env = {
            **system.env,
            "DATABASE_URL": f"postgres://postgres@{host}:{postgresql.port}/{DATABASE}",
            "RABBITMQ_URL": f"amqp://guest:guest@{host}:{rabbitmq.port}/{VHOST}",
            "REDIS_URL": f"redis://{host}:{redis.port}/1",
        }
        worker = system.worker("worker-cut-off", env=env, prefix=namespace.exec_prefix())
        workers.append(worker)
        user = system.user()
        account = _funded_account(system, db, user)
        assert _relay_lock_holder(db) is not None

        namespace.cut()
        noticed = _first_times(
            {
                "consumer": lambda: "consumer of" in _lost(worker),
                "relay": lambda: "outbox relay" in _lost(worker),
                "relay lock released": lambda: _relay_lock_holder(db) is None,
            },
            timeout=30,
        )
        namespace.mend()
        after = [user.deposit(account, "1000").json()["event_id"]]
        recovered = _wait_for(lambda: _final(db, after), "an event applied after the network mended", 40)
        worker.stop()

    print(f"\ncut network, seconds after the cut: {noticed}; applied {recovered:.1f}s after it mended")
    assert max(noticed.values()) < 20


def _first_times(conditions: dict[str, Callable[[], bool]], timeout: float) -> dict[str, float]:
    """Seconds until each condition first held, watched together; fails if one never does."""
    started, seen = time.monotonic(), {}
    while len(seen) < len(conditions):
        elapsed = time.monotonic() - started
        assert elapsed < timeout, f"not within {timeout}s: {sorted(set(conditions) - set(seen))}"
        for name, holds in conditions.items():
            if name not in seen and holds():
                seen[name] = round(elapsed, 1)
        time.sleep(0.05)
    return seen


def _lost(worker: Process) -> str:
    return "".join(line for line in worker.log().splitlines(keepends=True) if "lost a connection" in line)


def _assert_reconciles(system: System) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "reconcile"], cwd=ROOT, env=system.env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
