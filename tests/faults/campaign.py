"""One campaign: start the private system, drive the seeded stream through the fault schedule, heal,
drain, collect, check, and summarise in one table."""

from __future__ import annotations

import random
import shutil
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from tests.faults.checks import AccountRow, Checker, CheckResult, EventRow, Facts, Snapshot
from tests.faults.driver import Api, Driver, Operation, open_accounts
from tests.faults.faults import Fault, FaultRunner, Injected, plan
from tests.faults.system import System


@dataclass(frozen=True)
class Settings:
    seed: int
    duration: float = 100.0  # seconds of faults
    clients: int = 4
    rate: float = 40.0  # operations per second, all clients together
    drain_bound: float = 60.0
    refused_event: bool = True
    shards: int = 1


@dataclass
class Outcome:
    settings: Settings
    schedule: list[Fault]
    checks: list[CheckResult] = field(default_factory=list)
    table: str = ""
    logs: Path | None = None
    error: str = ""

    @property
    def passed(self) -> bool:
        return not self.error and all(c.passed for c in self.checks)

    def explain(self) -> str:
        """What a failing run prints: the seed, the schedule, the table, where the logs are."""
        lines = [
            f"fault campaign FAILED with seed {self.settings.seed}:"
            f" FAULT_SEED={self.settings.seed} (pytest) or --seed {self.settings.seed} reproduces the run"
        ]
        if self.error:
            lines.append(f"error: {self.error}")
        lines += ["schedule:", *(f"  {f.describe()}" for f in self.schedule)]
        lines += [self.table]
        lines += [f"logs kept in {self.logs}"] if self.logs else []
        return "\n".join(lines)


def new_seed() -> int:
    return random.SystemRandom().randrange(10**6)


def run(settings: Settings) -> Outcome:
    schedule = plan(settings.seed, settings.duration, refused_event=settings.refused_event)
    outcome = Outcome(settings, schedule)
    folder = Path(tempfile.mkdtemp(prefix="remit-faults-"))
    folder.chmod(0o755)  # the servers run as their own users, under this folder
    system = System(folder, seed=settings.seed, shards=settings.shards)
    began = time.monotonic()
    try:
        with ExitStack() as stack:
            system.start(stack)
            api = Api(system.base_url, lambda sub: system.issuer.token(sub))
            users = open_accounts(api, seed=settings.seed)
            driver = Driver(api, users, seed=settings.seed, clients=settings.clients, rate=settings.rate)
            runner = FaultRunner(system, driver, schedule)
            supervising = threading.Event()
            supervisor = threading.Thread(target=system.supervise, args=(supervising,), name="supervisor")
            supervisor.start()
            parks: set[tuple[str, str]] = set()
            watcher = threading.Thread(target=_watch_parks, args=(system, parks, supervising), name="parks")
            watcher.start()
            driver.start()
            try:
                runner.run()
            finally:
                system.heal_all()
                time.sleep(2)  # a calm moment under load, then no more requests
                driver.stop()
            try:
                facts = _drain(system, settings, runner)
            finally:
                supervising.set()
                supervisor.join()
                watcher.join()
            facts.parks_seen = parks
            snapshot = _collect(system)
            outcome.checks = Checker(driver.operations, snapshot, facts).run()
            outcome.table = summary(
                settings,
                driver.operations,
                snapshot,
                runner.injected,
                facts,
                outcome.checks,
                system,
                time.monotonic() - began,
            )
    except Exception as exc:
        outcome.error = f"{type(exc).__name__}: {exc}"
    finally:
        shutil.rmtree(folder / "servers", ignore_errors=True)
        if outcome.passed:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            outcome.logs = folder / "logs"
    return outcome


def _watch_parks(system: System, parks: set[tuple[str, str]], stop: threading.Event) -> None:
    """Note every account the worker parks (an operator's replay deletes the row again)."""
    while not stop.wait(0.3):
        try:
            with system.postgres.connect() as conn:
                rows = conn.execute("SELECT account_id, event_id FROM transfers_parkedaccount").fetchall()
        except psycopg.Error:
            continue  # the server is being restarted or refuses sessions: look again soon
        parks.update((str(account), str(event)) for account, event in rows)


def _drain(system: System, settings: Settings, runner: FaultRunner) -> Facts:
    began = time.monotonic()
    drained = False
    with system.postgres.connect() as conn:
        while time.monotonic() - began < settings.drain_bound:
            pending, outbox = conn.execute(
                "SELECT (SELECT count(*) FROM transfers_event WHERE status = 'pending'),"
                " (SELECT count(*) FROM messaging_outboxmessage)"
            ).fetchone()
            if pending == 0 and outbox == 0:
                drained = True
                break
            time.sleep(0.2)
    drain_seconds = time.monotonic() - began
    system.notice_worker_deaths()
    return Facts(
        drained=drained,
        drain_seconds=drain_seconds,
        drain_bound=settings.drain_bound,
        unexpected_worker_exits=list(system.unexpected_exits),
        sigterm_exit_codes=list(runner.sigterm_exit_codes),
        refused=dict(runner.refused),
    )


def _collect(system: System) -> Snapshot:
    with system.postgres.connect() as conn:
        events = {
            str(row[0]): EventRow(
                str(row[0]), *row[1:5], str(row[5]), str(row[6]) if row[6] else None, *row[7:]
            )
            for row in conn.execute(
                "SELECT event_id, seq, type, status, reason, account_id, counterparty_id, amount, currency,"
                " CASE type WHEN 'transfer' THEN memo ELSE reference END, business_date, created_at,"
                " processed_at FROM transfers_event"
            )
        }
        accounts = {
            str(row[0]): AccountRow(str(row[0]), *row[1:])
            for row in conn.execute(
                "SELECT id, kind, currency, balance, daily_limit, status, closed_at FROM accounts_account"
            )
        }
        entries = [
            (str(t), str(a), amount, after)
            for t, a, amount, after in conn.execute(
                "SELECT transaction_id, account_id, amount, balance_after FROM ledger_entry"
            )
        ]
        outbox = conn.execute("SELECT count(*) FROM messaging_outboxmessage").fetchone()[0]
        parked = conn.execute("SELECT account_id, event_id, error FROM transfers_parkedaccount").fetchall()
    reconcile = system.manage("reconcile", check=False)
    return Snapshot(
        events=events,
        accounts=accounts,
        entries=entries,
        outbox=outbox,
        parked=parked,
        queues=system.rabbitmq.queue_depths(),
        reconcile_exit=reconcile.returncode,
        reconcile_output=reconcile.stdout + reconcile.stderr,
    )


def summary(
    settings: Settings,
    ops: list[Operation],
    snapshot: Snapshot,
    injected: list[Injected],
    facts: Facts,
    checks: list[CheckResult],
    system: System,
    total_seconds: float,
) -> str:
    """The one table a run prints."""
    attempts = [a for op in ops for a in op.attempts]
    answers = Counter(
        "no answer" if a.status is None else f"{a.status} {a.code}" if a.code else str(a.status)
        for a in attempts
    )
    finals = Counter(f"{e.status} {e.reason}" if e.reason else e.status for e in snapshot.events.values())
    faults = Counter(i.fault.kind for i in injected)
    parked = facts.refused.get("account")
    lags = sorted(
        (e.processed_at - e.created_at).total_seconds()
        for e in snapshot.events.values()
        if e.processed_at is not None and e.account != parked
    )
    proxy_counters = system.proxy.counters if system.proxy else {}
    failed_faults = [f"{i.fault.kind}: {i.error}" for i in injected if i.error]
    rows: list[tuple[str, str]] = [
        (
            "seed",
            f"{settings.seed}  (faults for {settings.duration:.0f} s,"
            f" {settings.clients} clients, {settings.rate:.0f} operations/s)",
        ),
        ("operations", f"{len(ops)}, keyed {sum(1 for o in ops if o.key)}"),
        ("requests", str(len(attempts))),
        *_counted("answers", answers),
        *_counted("events", finals),
        *_counted("faults injected", faults),
        *[("fault not injected", text) for text in failed_faults],
        ("proxy", ", ".join(f"{name} {count}" for name, count in proxy_counters.items())),
        ("apply lag", _percentiles(lags) + " (accepted to final, the parked account aside)"),
        ("drain", f"{facts.drain_seconds:.1f} s after the last request (bound {facts.drain_bound:.0f} s)"),
        ("start-up", ", ".join(f"{k} {v:.1f} s" for k, v in system.startup_seconds.items())),
        ("whole run", f"{total_seconds:.0f} s"),
    ]
    width = max(len(name) for name, _ in rows)
    check_width = max(len(c.name) for c in checks)
    lines = ["", "fault campaign summary", "=" * 22]
    lines += [f"{name:<{width}}  {value}" for name, value in rows]
    lines += ["", "invariant".ljust(check_width) + "  result"]
    for check in checks:
        lines.append(f"{check.name:<{check_width}}  {check.verdict}")
        if not check.passed or check.skipped:
            lines += [f"{'':<{check_width}}    {detail}" for detail in check.details]
    return "\n".join(lines)


def _percentiles(values: list[float]) -> str:
    if not values:
        return "none"

    def at(share: float) -> float:
        return values[min(len(values) - 1, int(share * len(values)))]

    return f"p50 {at(0.5):.2f} s, p99 {at(0.99):.2f} s, max {values[-1]:.2f} s"


def _counted(title: str, counts: Counter) -> list[tuple[str, str]]:
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [(title if i == 0 else "", f"{count:>6}  {name}") for i, (name, count) in enumerate(ordered)] or [
        (title, "none")
    ]
