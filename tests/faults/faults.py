"""The fault schedule, drawn from the seed, and the runner that injects each fault into the system."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

import psycopg

from tests.faults.driver import Driver
from tests.faults.system import System

# Each kind once in a shuffled order, then random kinds until the window is full.
KINDS = (
    "worker_sigkill",
    "worker_sigterm",
    "web_sigkill",
    "rabbitmq_stop_app",
    "redis_stop",
    "redis_flush",
    "redis_sigstop",
    "postgres_restart",
    "postgres_terminate_backends",
    "postgres_read_only",
    "postgres_schema_error",
    "proxy_drop_replies",
    "proxy_blackhole",
    "proxy_cut",
)
# Runs beside the others, from its start to its end: one event whose writes PostgreSQL refuses.
REFUSED_EVENT = "refused_event"

# How long each kind lasts (seconds), drawn from these ranges.
_HOLD = {
    "worker_sigkill": (0.2, 3),
    "worker_sigterm": (0.2, 3),
    "web_sigkill": (0, 0),
    "rabbitmq_stop_app": (2, 6),
    "redis_stop": (1, 4),
    "redis_flush": (0, 0),
    "redis_sigstop": (1, 4),
    "postgres_restart": (0, 0),
    "postgres_terminate_backends": (0, 0),
    "postgres_read_only": (1, 4),
    "postgres_schema_error": (2, 5),
    "proxy_drop_replies": (4, 10),
    "proxy_blackhole": (2, 15),
    "proxy_cut": (0, 0),
}
# What a fault costs beyond its hold (restarts, waiting for the broker), for spacing the schedule.
_RECOVERY = {"rabbitmq_stop_app": 2.5, "postgres_restart": 1.0, "worker_sigterm": 1.0}

_RENAMED = ("ledger_entry", "balance_after", "balance_after_renamed_by_a_bad_deploy")


@dataclass(frozen=True)
class Fault:
    at: float
    kind: str
    hold: float
    detail: dict = field(default_factory=dict, hash=False)

    def describe(self) -> str:
        extra = " ".join(f"{k}={v}" for k, v in self.detail.items())
        return f"t={self.at:6.1f}s {self.kind:<28} hold {self.hold:4.1f}s {extra}".rstrip()


def plan(seed: int, window: float, *, refused_event: bool) -> list[Fault]:
    """The faults of a run: every kind at least once, then more until `window` seconds are used."""
    rng = random.Random(f"{seed}/schedule")
    first = list(KINDS)
    rng.shuffle(first)
    faults = []
    moment = rng.uniform(2, 4)
    while first or moment < window:
        kind = first.pop(0) if first else rng.choice(KINDS)
        low, high = _HOLD[kind]
        hold = round(rng.uniform(low, high), 1)
        faults.append(Fault(round(moment, 1), kind, hold, _detail(kind, rng)))
        moment += hold + _RECOVERY.get(kind, 0) + rng.uniform(1, 4)
    if refused_event:
        begins = rng.uniform(0.1, 0.25) * window
        faults.append(Fault(round(begins, 1), REFUSED_EVENT, round(rng.uniform(0.3, 0.45) * window, 1)))
    return sorted(faults, key=lambda f: f.at)


def _detail(kind: str, rng: random.Random) -> dict:
    if kind in ("worker_sigkill", "worker_sigterm"):
        return {"worker": rng.randrange(1000)}
    if kind == "web_sigkill":
        return {"process": rng.randrange(1000)}
    if kind == "proxy_drop_replies":
        # hang: the connection stays open and silent after the lost reply, as if the peer vanished.
        return {"probability": rng.choice([0.05, 0.1, 0.2, 0.3]), "hang": rng.random() < 0.5}
    if kind == "postgres_terminate_backends":
        return {"share": rng.choice([0.5, 1.0])}
    return {}


@dataclass
class Injected:
    fault: Fault
    began: float
    ended: float = 0.0
    note: str = ""
    error: str = ""


class FaultRunner:
    """Injects the planned faults at their times (relative to `run`), one after another, except the
    refused event, which runs beside them."""

    def __init__(self, system: System, driver: Driver, faults: list[Fault]) -> None:
        self.system = system
        self.driver = driver
        self.faults = faults
        self.injected: list[Injected] = []
        self.refused: dict = {}
        self.sigterm_exit_codes: list[int | None] = []
        self._began = 0.0
        self._lock = threading.Lock()

    def run(self) -> None:
        self._began = time.monotonic()
        side = [f for f in self.faults if f.kind == REFUSED_EVENT]
        threads = [threading.Thread(target=self._refuse_one_event, args=(f,), name="refusal") for f in side]
        for thread in threads:
            thread.start()
        for fault in (f for f in self.faults if f.kind != REFUSED_EVENT):
            self._wait_until(fault.at)
            self._inject(fault, getattr(self, f"_{fault.kind}"))
        for thread in threads:
            thread.join()

    def _inject(self, fault: Fault, action) -> Injected:
        record = Injected(fault, began=time.monotonic() - self._began)
        with self._lock:
            self.injected.append(record)
        try:
            record.note = action(fault) or ""
        except Exception as exc:  # a fault that could not be injected is reported, and the run goes on
            record.error = f"{type(exc).__name__}: {exc}"
        record.ended = time.monotonic() - self._began
        return record

    def _wait_until(self, moment: float) -> None:
        delay = self._began + moment - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    # The processes

    def _pick_worker(self, fault: Fault):
        running = sorted(self.system.running_workers(), key=lambda w: w.name)
        if not running:
            raise RuntimeError("no worker running")
        return running[fault.detail["worker"] % len(running)]

    def _worker_sigkill(self, fault: Fault) -> str:
        worker = self._pick_worker(fault)
        self.system.kill_worker(worker)
        time.sleep(fault.hold)
        self.system.start_worker(worker)
        return worker.name

    def _worker_sigterm(self, fault: Fault) -> str:
        worker = self._pick_worker(fault)
        code = self.system.terminate_worker(worker, once_up=True)
        self.sigterm_exit_codes.append(code)
        time.sleep(fault.hold)
        self.system.start_worker(worker)
        return f"{worker.name} exited {code}"

    def _web_sigkill(self, fault: Fault) -> str:
        deadline = time.monotonic() + 2
        while self.driver.in_flight == 0 and time.monotonic() < deadline:
            time.sleep(0.005)  # mid-request: wait until a client is waiting for an answer
        pids = sorted(self.system.api_worker_pids())
        if not pids:
            raise RuntimeError("no gunicorn worker found")
        in_flight = self.driver.in_flight
        self.system.kill_api_worker(pids[fault.detail["process"] % len(pids)])
        return f"{in_flight} request(s) in flight"

    # The servers

    def _rabbitmq_stop_app(self, fault: Fault) -> None:
        self.system.rabbitmq.stop_app()
        try:
            time.sleep(fault.hold)
        finally:
            self.system.rabbitmq.start_app()

    def _redis_stop(self, fault: Fault) -> None:
        self.system.redis.stop()
        try:
            time.sleep(fault.hold)
        finally:
            self.system.redis.start()

    def _redis_flush(self, fault: Fault) -> None:
        self.system.redis.flush()

    def _redis_sigstop(self, fault: Fault) -> None:
        self.system.redis.freeze()
        try:
            time.sleep(fault.hold)
        finally:
            self.system.redis.thaw()

    def _postgres_restart(self, fault: Fault) -> None:
        self.system.postgres.restart_fast()

    def _postgres_terminate_backends(self, fault: Fault) -> str:
        with self.system.postgres.connect() as conn:
            ended = conn.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND backend_type = 'client backend' AND random() < %s",
                [fault.detail["share"]],
            ).fetchone()[0]
        return f"{ended} session(s) ended"

    def _postgres_read_only(self, fault: Fault) -> None:
        """As after a failover to a standby: every new transaction is read-only (SQLSTATE 25006)."""
        with self.system.postgres.connect() as conn:
            conn.execute("ALTER SYSTEM SET default_transaction_read_only = on")
            conn.execute("SELECT pg_reload_conf()")
            try:
                time.sleep(fault.hold)
            finally:
                conn.execute("SET default_transaction_read_only = off")
                conn.execute("ALTER SYSTEM RESET default_transaction_read_only")
                conn.execute("SELECT pg_reload_conf()")

    def _postgres_schema_error(self, fault: Fault) -> str:
        """A bad deploy: a column the worker writes is renamed (SQLSTATE 42703), then put back."""
        table, column, renamed = _RENAMED
        with self.system.postgres.connect() as conn:
            conn.execute("SET lock_timeout = '20s'")
            conn.execute(f"ALTER TABLE {table} RENAME COLUMN {column} TO {renamed}")
            try:
                time.sleep(fault.hold)
            finally:
                conn.execute(f"ALTER TABLE {table} RENAME COLUMN {renamed} TO {column}")
        return f"{table}.{column}"

    # The network between the API and PostgreSQL

    def _proxy_drop_replies(self, fault: Fault) -> None:
        proxy = self.system.proxy
        assert proxy is not None
        proxy.drop_replies(fault.detail["probability"], hang=fault.detail["hang"])
        try:
            time.sleep(fault.hold)
        finally:
            proxy.heal()

    def _proxy_cut(self, fault: Fault) -> str:
        proxy = self.system.proxy
        assert proxy is not None
        connections = proxy.open_connections
        proxy.cut()
        return f"{connections} connection(s) cut"

    def _proxy_blackhole(self, fault: Fault) -> None:
        proxy = self.system.proxy
        assert proxy is not None
        proxy.blackhole()
        try:
            time.sleep(fault.hold)
        finally:
            proxy.heal()

    # One event PostgreSQL refuses to apply

    def _refuse_one_event(self, fault: Fault) -> None:
        self.refused["planned_at"] = fault.at
        self._wait_until(fault.at)
        record = self._inject(fault, self._install_refusal)
        if record.error:
            self.refused["error"] = record.error
            return
        self._wait_until(fault.at + fault.hold)
        self.refused["lifted_at"] = time.time()
        try:
            self._lift_refusal()
        except Exception as exc:
            self.refused["error"] = f"{type(exc).__name__}: {exc}"

    def _install_refusal(self, fault: Fault) -> str:
        """With the workers stopped, pick the newest pending deposit or withdrawal and make
        PostgreSQL refuse to finish it (check_violation), as a constraint would."""
        system = self.system
        with system.worker_lock:
            stopped = system.running_workers()
            for worker in stopped:
                system.terminate_worker(worker)
            try:
                event = _again(self._refuse_newest_cash_event, until=time.monotonic() + 30)
                self.refused.update(event_id=str(event[0]), account=str(event[1]), installed_at=time.time())
            finally:
                for worker in stopped:
                    system.start_worker(worker)
        return f"event {event[0]} of account {event[1]}"

    def _refuse_newest_cash_event(self) -> tuple:
        event = self._pending_cash_event()
        with self.system.postgres.connect() as conn:
            conn.execute(_REFUSE_FUNCTION)
            conn.execute(_REFUSE_TRIGGER.format(event_id=event[0]))
        return event

    def _pending_cash_event(self) -> tuple:
        deadline = time.monotonic() + 10
        with self.system.postgres.connect() as conn:
            while True:
                row = conn.execute(
                    "SELECT event_id, account_id FROM transfers_event WHERE status = 'pending'"
                    " AND type IN ('deposit', 'withdrawal') ORDER BY seq DESC LIMIT 1"
                ).fetchone()
                if row is not None:
                    return row
                if time.monotonic() > deadline:
                    raise RuntimeError("no pending deposit or withdrawal to refuse")
                time.sleep(0.1)

    def _lift_refusal(self) -> None:
        """The cause is fixed (the trigger dropped); the operator replays what was parked.

        As an operator would, each step refused by a database that another fault has made
        read-only or restarts is done again (none changes anything until it commits)."""
        deadline = time.monotonic() + 60
        _again(self._drop_refusal, until=deadline)
        # `stuck` exits 1 when it lists something, as it should here; it may also fail to connect.
        self.refused["stuck"] = _again(
            lambda: self.system.manage("stuck", check=False).stdout,
            until=deadline,
            done=lambda listed: self.refused["event_id"] in listed,
        )
        replay = _again(
            lambda: self.system.manage("replay_events", "--parked", check=False),
            until=deadline,
            done=lambda finished: finished.returncode == 0,
        )
        if replay.returncode != 0:  # the checker reports it, with what the command said
            raise RuntimeError(f"replay_events --parked exited {replay.returncode}: {replay.stderr[-2000:]}")
        self.refused["replay"] = replay.stdout

    def _drop_refusal(self) -> None:
        with self.system.postgres.connect() as conn:
            conn.execute("DROP TRIGGER IF EXISTS campaign_refuses_one_event ON transfers_event")


def _again(action, *, until: float, done=lambda result: True):
    """`action()`, done again each second while PostgreSQL refuses it (another fault ended the
    session, made the server read-only or restarts it) or its result is not `done`, until the
    monotonic time `until`; then the last result, or the last refusal raised."""
    while True:
        try:
            result = action()
        except psycopg.Error:
            if time.monotonic() > until:
                raise
        else:
            if done(result) or time.monotonic() > until:
                return result
        time.sleep(1)


_REFUSE_FUNCTION = """
CREATE OR REPLACE FUNCTION campaign_refuse_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the campaign refuses event %', NEW.event_id USING ERRCODE = 'check_violation';
END $$
"""
_REFUSE_TRIGGER = """
CREATE OR REPLACE TRIGGER campaign_refuses_one_event BEFORE UPDATE ON transfers_event FOR EACH ROW
WHEN (NEW.event_id = '{event_id}' AND NEW.status <> 'pending')
EXECUTE FUNCTION campaign_refuse_event()
"""
