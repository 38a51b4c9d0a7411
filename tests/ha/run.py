"""The HA run: Remit on a three-node RabbitMQ cluster and a Patroni-managed PostgreSQL pair, two web
processes and two worker shards under load, while RabbitMQ nodes and the PostgreSQL primary are killed.

Every scenario is judged from what the clients were told and what PostgreSQL holds after the drain,
with the fault campaign's checker (tests/faults/checks.py); the table gives each scenario's figures.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests

from bench.load import Request, write_script
from bench.load import run as load
from messaging.schema import shard_of
from messaging.topology import apply_queue
from tests.faults.campaign import _collect
from tests.faults.checks import Checker, Facts
from tests.faults.driver import Api, Driver, open_accounts
from tests.faults.servers import PG_BIN, PrivateRedis
from tests.ha.servers import Etcd, PatroniPair, RabbitCluster
from tests.support.oidc_issuer import LoopbackIssuer
from tests.support.processes import (
    Process,
    api_process,
    child_environment,
    manage,
    wait_until_ready,
    worker_process,
)

AUDIENCE = "remit-api"
SHARDS = 2
HOLD_SECONDS = 8  # how long killed RabbitMQ nodes stay down
DRAIN_BOUND = 90


@dataclass
class Scenario:
    name: str
    began: float = 0.0  # wall clock, as PostgreSQL's timestamps
    ended: float = 0.0
    recovered: float | None = None  # seconds from the fault to what the scenario calls recovery
    recovery_meaning: str = ""
    notes: list[str] = field(default_factory=list)
    shards: list[int] = field(default_factory=list)  # RabbitMQ scenarios: recovery judged in these


class SpreadApi(Api):
    """The load generator is the only thing in front of the two web processes: each user talks to one."""

    def __init__(self, base_urls: list[str], mint) -> None:
        super().__init__(base_urls[0], mint)
        self.base_urls = base_urls

    def _base(self, sub: str) -> str:
        return self.base_urls[sum(sub.encode()) % len(self.base_urls)]

    def post(self, sub, path, body, headers=None):
        return self.session(sub).post(f"{self._base(sub)}{path}", json=body, headers=headers, timeout=(3, 12))

    def get(self, sub, path):
        return self.session(sub).get(f"{self._base(sub)}{path}", timeout=(3, 12))


class System:
    """Everything the run starts, torn down by the ExitStack it was given, also on failure."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.logs = folder / "logs"
        self.logs.mkdir()
        servers = folder / "servers"
        servers.mkdir()
        servers.chmod(0o755)
        self.rabbitmq = RabbitCluster(servers)
        self.etcd = Etcd(servers)
        self.postgres = PatroniPair(servers, self.etcd)
        self.redis = PrivateRedis(servers)
        self.issuer = LoopbackIssuer(audience=AUDIENCE)
        self.env: dict[str, str] = {}
        self.webs: list[tuple[Process, str]] = []
        self.workers: list[Process] = []
        self.startup: dict[str, float] = {}

    def start(self, stack: ExitStack) -> None:
        began = time.monotonic()
        stack.callback(self.rabbitmq.stop)
        self.rabbitmq.launch()  # the slowest: its nodes boot while PostgreSQL is set up
        stack.callback(self.etcd.stop)
        self.etcd.start()
        stack.callback(self.postgres.stop)
        self.postgres.start()
        self.startup["postgresql pair"] = time.monotonic() - began
        stack.callback(self.redis.kill)
        self.redis.start()
        self.issuer.start()
        stack.callback(self.issuer.stop)
        self.rabbitmq.form()
        self.startup["rabbitmq cluster"] = time.monotonic() - began
        self.env = child_environment(
            DJANGO_SETTINGS_MODULE="config.settings.test",
            DEBUG="false",
            OIDC_ISSUER=self.issuer.issuer,
            OIDC_AUDIENCE=AUDIENCE,
            REDIS_URL=self.redis.url,
            ACCOUNT_EVENT_SHARDS=str(SHARDS),
            DATABASE_URL=self.postgres.url,
            RABBITMQ_URL=self.rabbitmq.url(0),
        )
        self.manage("migrate", "-v", "0")
        # Two "machines": each lists its own RabbitMQ node first, and runs a web process and a worker.
        for machine in range(2):
            env = {**self.env, "RABBITMQ_URL": self.rabbitmq.url(machine)}
            web, base_url = api_process(env, self.logs, name=f"web-{machine}", workers=1)
            web.start()
            stack.callback(web.stop)
            self.webs.append((web, base_url))
            worker = worker_process(env, self.logs, shard=machine, name=f"worker-{machine}")
            worker.start()
            stack.callback(worker.stop)
            self.workers.append(worker)
        for web, base_url in self.webs:
            wait_until_ready(base_url, web, timeout=60)
        self.startup["total"] = time.monotonic() - began

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return manage(self.env, *args, check=check)

    def supervise(self, stop: threading.Event, deaths: list[str]) -> None:
        """Restart a worker that died by itself, as systemd would, and record it."""
        while not stop.wait(1.0):
            for worker in self.workers:
                if worker.popen is not None and worker.popen.poll() is not None:
                    deaths.append(f"{worker.name} exited {worker.popen.returncode}")
                    worker.start()

    def readiness(self) -> list[dict]:
        answers = []
        for _web, base_url in self.webs:
            try:
                answers.append(requests.get(f"{base_url}/readyz", timeout=10).json())
            except (requests.RequestException, ValueError) as exc:
                answers.append({"error": repr(exc)})
        return answers

    def connect(self) -> psycopg.Connection:
        """A session on the current primary, as the processes find it."""
        deadline = time.monotonic() + 60
        while True:
            leader = self.postgres.leader()
            if leader is not None:
                with contextlib.suppress(psycopg.Error):
                    return leader.connect()
            if time.monotonic() > deadline:
                raise TimeoutError("no PostgreSQL primary for 60 s")
            time.sleep(0.2)


class CheckedSystem:
    """What tests.faults.campaign._collect reads: the primary, the operator's commands, the queues."""

    def __init__(self, system: System) -> None:
        self.postgres = system
        self.manage = system.manage
        self.rabbitmq = system.rabbitmq


# Measurements


def accept_rate(system: System, users, seconds: int, connections: int = 16) -> dict[str, float]:
    """Deposits accepted per second through both web processes at once, closed loop, with wrk (the
    benchmark's load generator) driving `connections` connections at each."""
    tokens = [system.issuer.token(user.sub) for user in users]
    plan = [
        Request(
            f"/api/v1/accounts/{account.id}/deposits", {"amount": "1000", "reference": "measure"}, token=n
        )
        for n, user in enumerate(users)
        for account in user.accounts
        if account.currency == "KRW"
    ]
    script = write_script(plan, system.folder / "deposits.lua", tokens=tokens)
    results: list = [None] * len(system.webs)

    def drive(index: int, base_url: str) -> None:
        results[index] = load(base_url, script, connections=connections, seconds=seconds)

    threads = [threading.Thread(target=drive, args=(n, base)) for n, (_web, base) in enumerate(system.webs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    accepted = sum(r.requests_per_second * (1 - r.non_2xx / max(r.total, 1)) for r in results)
    return {
        "accepted": accepted,
        "p50": max(r.p50_ms for r in results),
        "p99": max(r.p99_ms for r in results),
        "refused": sum(r.non_2xx for r in results),
    }


def commit_rate(system: System, clients: int, *, synchronous: bool, seconds: int = 3) -> float:
    """pgbench's TPC-B-like transactions per second on the primary: the commit path alone, each
    commit waiting for the standby's flush (`synchronous_commit` on) or only for the primary's
    (`local`, set per session: no reconfiguration between samples)."""
    leader = system.postgres.leader()
    assert leader is not None
    argv = [str(PG_BIN / "pgbench"), "-h", "127.0.0.1", "-p", str(leader.port), "-U", "postgres", "-n",
            "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds), "pgbench"]  # fmt: skip
    env = {**os.environ, "PGOPTIONS": f"-c synchronous_commit={'on' if synchronous else 'local'}"}
    output = subprocess.run(
        argv, check=True, capture_output=True, text=True, timeout=seconds + 60, env=env
    ).stdout
    return float(re.search(r"tps = ([\d.]+)", output).group(1))


def measure_synchronous_cost(system: System, users, seconds: int) -> dict[str, dict[str, float]]:
    """Medians of samples alternating between the two modes, so that a neighbour's load on the
    machine weighs on both alike: the API (Patroni's synchronous mode switched between samples) and
    pgbench (synchronous_commit per session)."""
    with system.connect() as conn:
        conn.execute("CREATE DATABASE pgbench")
    port = system.postgres.leader().port
    subprocess.run(
        [str(PG_BIN / "pgbench"), "-i", "-q", "-s", "1", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
         "pgbench"], check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    samples: dict[str, dict[str, list[float]]] = {
        mode: {"accepted": [], "p50": [], "p99": [], "tps1": [], "tps16": []} for mode in MODES
    }
    for _ in range(4):
        for mode, synchronous in MODES.items():
            samples[mode]["tps1"].append(commit_rate(system, 1, synchronous=synchronous))
            samples[mode]["tps16"].append(commit_rate(system, 16, synchronous=synchronous))
    for _ in range(3):
        for mode, synchronous in MODES.items():
            system.postgres.set_synchronous(synchronous)
            if synchronous:
                system.postgres.wait_for_sync_standby(60)
            result = accept_rate(system, users, seconds)
            for key in ("accepted", "p50", "p99"):
                samples[mode][key].append(result[key])
    system.postgres.set_synchronous(True)
    system.postgres.wait_for_sync_standby(60)
    return {
        mode: {key: statistics.median(values) for key, values in by.items()} for mode, by in samples.items()
    }


MODES = {"synchronous standby": True, "asynchronous standby": False}


def _first_accepted_after(conn: psycopg.Connection, moment: float) -> float | None:
    """Seconds from `moment` (wall clock) to the next event committed: the time without acceptance."""
    row = conn.execute(
        "SELECT extract(epoch FROM min(created_at)) FROM transfers_event WHERE created_at > to_timestamp(%s)",
        [moment],
    ).fetchone()
    return None if row[0] is None else float(row[0]) - moment


def _first_applied_after(events, moment: float, shard: int) -> float | None:
    """Seconds from `moment` to the application of the first event of `shard` accepted after it: its
    message had to go through the cluster as it was after the fault."""
    after = [
        e
        for e in events
        if e.created_at.timestamp() > moment and shard_of(uuid.UUID(e.account), SHARDS) == shard
    ]
    first = min(after, key=lambda e: e.seq, default=None)
    if first is None or first.processed_at is None:
        return None
    return first.processed_at.timestamp() - moment


def kill_rabbit_nodes(system: System, scenario: Scenario, names: list[str], shards: list[int]) -> None:
    """SIGKILL RabbitMQ nodes (a node dying, not a clean stop), hold, start them again."""
    nodes = [system.rabbitmq.by_name(name) for name in names]
    scenario.notes.append("killed " + " and ".join(name.split("@")[0] for name in names))
    scenario.began = time.time()
    for node in nodes:
        node.kill()
    time.sleep(HOLD_SECONDS / 2)
    states = [answer.get("dependencies", {}).get("rabbitmq") for answer in system.readiness()]
    scenario.notes.append(f"/readyz meanwhile: rabbitmq {', '.join(map(str, states))}")
    if len(nodes) == 1 and states != ["up"] * len(system.webs):
        raise AssertionError(f"/readyz did not find another RabbitMQ node: {states}")
    time.sleep(HOLD_SECONDS / 2)
    for node in nodes:
        node.start()
    for node in nodes:
        node.await_startup()
    _wait_until(lambda: _queues_whole(system), "every apply queue with three members online", 60)
    scenario.ended = time.time()
    scenario.shards = shards  # recovery is read from the data after the drain (report)
    which = f"shard {shards[0]}" if len(shards) == 1 else "every shard"
    scenario.recovery_meaning = f"kill to the first event accepted after it applied, {which}"


def _queues_whole(system: System) -> bool:
    queues = system.rabbitmq.queues()
    return all(len(queues[apply_queue(s, SHARDS)].get("online") or []) == 3 for s in range(SHARDS))


def kill_primary(system: System, scenario: Scenario) -> dict[str, float]:
    """SIGKILL the primary's postmaster; Patroni promotes the synchronous standby and brings the old
    primary back as a standby (pg_rewind)."""
    old = system.postgres.leader()
    assert old is not None
    standby = system.postgres.sync_standby()
    assert standby is not None
    scenario.notes.append(f"killed {old.name}'s postmaster, {standby.name} promoted")
    scenario.began = time.time()
    os.kill(old.postmaster_pid(), signal.SIGKILL)
    _wait_until(lambda: system.postgres.leader() is standby, "the standby promoted", 60)
    promoted = time.time() - scenario.began
    _wait_until(
        lambda: system.postgres.sync_standby() is old, "the old primary back as synchronous standby", 120
    )
    rejoined = time.time() - scenario.began
    scenario.ended = time.time()
    with system.connect() as conn:
        scenario.recovered = _first_accepted_after(conn, scenario.began)
    scenario.recovery_meaning = "kill to the next 202 (time without acceptance)"
    return {"promoted": promoted, "rejoined": rejoined}


def _wait_until(condition, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except (psycopg.Error, requests.RequestException, subprocess.CalledProcessError, KeyError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:.0f}s")
        time.sleep(0.2)


# The run


@dataclass
class Outcome:
    table: str = ""
    error: str | None = None
    failed_checks: list[str] = field(default_factory=list)
    logs: Path | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and not self.failed_checks


def run(
    *, seed: int, rate: float = 30, clients: int = 6, measure_seconds: int = 5, keep_logs: bool = False
) -> Outcome:
    outcome = Outcome()
    folder = Path(tempfile.mkdtemp(prefix="remit-ha-"))
    folder.chmod(0o755)  # the servers run as their own users, under this folder
    system = System(folder)
    began = time.monotonic()
    try:
        with ExitStack() as stack:
            system.start(stack)
            print(f"started in {system.startup['total']:.0f} s", flush=True)
            api = SpreadApi([base for _web, base in system.webs], lambda sub: system.issuer.token(sub))
            users = open_accounts(api, seed=seed)
            deaths: list[str] = []
            stop_supervising = threading.Event()
            supervisor = threading.Thread(target=system.supervise, args=(stop_supervising, deaths))
            supervisor.start()
            stack.callback(supervisor.join)
            stack.callback(stop_supervising.set)
            driver = Driver(api, users, seed=seed, clients=clients, rate=rate)
            driver.start()
            scenarios = [
                Scenario("RabbitMQ: kill the node leading apply queue 0"),
                Scenario("RabbitMQ: kill the node the relay of shard 1 publishes through"),
                Scenario("RabbitMQ: kill two of the three nodes (no majority)"),
                Scenario("PostgreSQL: SIGKILL the primary's postmaster"),
            ]
            failover: dict[str, float] = {}
            try:
                time.sleep(5)
                leader = system.rabbitmq.queues()[apply_queue(0, SHARDS)]["leader"]
                kill_rabbit_nodes(system, scenarios[0], [leader], shards=[0])
                print(f"{scenarios[0].name}: {scenarios[0].notes}", flush=True)
                time.sleep(5)
                _wait_until(
                    lambda: system.rabbitmq.node_of_connection("remit relay of shard 1"),
                    "the relay of shard 1 connected",
                    30,
                )
                through = system.rabbitmq.node_of_connection("remit relay of shard 1")
                kill_rabbit_nodes(system, scenarios[1], [through], shards=[1])
                print(f"{scenarios[1].name}: {scenarios[1].notes}", flush=True)
                time.sleep(5)
                two = [node.node for node in system.rabbitmq.nodes[1:]]
                kill_rabbit_nodes(system, scenarios[2], two, shards=list(range(SHARDS)))
                print(f"{scenarios[2].name}: {scenarios[2].notes}", flush=True)
                time.sleep(5)
                failover = kill_primary(system, scenarios[3])
                print(f"{scenarios[3].name}: {failover}", flush=True)
                time.sleep(5)
            finally:
                driver.stop()
            drain_began = time.monotonic()
            _wait_until(lambda: _pending(system) == 0, "the backlog drained", DRAIN_BOUND)
            facts = Facts(
                drained=True,
                drain_seconds=time.monotonic() - drain_began,
                drain_bound=DRAIN_BOUND,
                unexpected_worker_exits=deaths,
                sigterm_exit_codes=[],
            )
            snapshot = _collect(CheckedSystem(system))
            checks = Checker(driver.operations, snapshot, facts).run()
            outcome.failed_checks = [
                f"{c.name}: {'; '.join(c.details)}" for c in checks if not c.passed and not c.skipped
            ]
            # After the checks (the measurement's deposits are no client's operations): the cost of
            # waiting for the standby's flush before each acceptance answers.
            rates = measure_synchronous_cost(system, users, measure_seconds)
            print(f"accept rates: {rates}", flush=True)
            outcome.table = report(
                scenarios, driver, snapshot, rates, failover, time.monotonic() - began, system.startup
            )
    except (Exception, KeyboardInterrupt, SystemExit) as exc:  # torn down above; the logs are kept
        outcome.error = f"{type(exc).__name__}: {exc}"
    finally:
        if not outcome.passed or keep_logs:
            _keep_server_logs(folder / "servers", folder / "logs")
        shutil.rmtree(folder / "servers", ignore_errors=True)
        if outcome.passed and not keep_logs:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            outcome.logs = folder / "logs"
    return outcome


def _keep_server_logs(servers: Path, logs: Path) -> None:
    """The servers' logs (Patroni, PostgreSQL, etcd, RabbitMQ) beside the processes' ones, before
    their data folders go: a run that failed while starting them has no other evidence."""
    for log in servers.rglob("*.log"):
        if log.is_file():
            shutil.copyfile(log, logs / "-".join(log.relative_to(servers).parts))


def _pending(system: System) -> int:
    with system.connect() as conn:
        return conn.execute(
            "SELECT (SELECT count(*) FROM transfers_event WHERE status = 'pending')"
            " + (SELECT count(*) FROM messaging_outboxmessage)"
        ).fetchone()[0]


def report(scenarios, driver, snapshot, rates, failover, seconds, startup) -> str:
    entries = Counter(entry[0] for entry in snapshot.entries)
    events_of: dict[str, list] = {}
    for event in snapshot.events.values():
        events_of.setdefault(event.reference, []).append(event)
    lines = [
        "| scenario | requests | accepted | lost | doubled | order violations | time to recover |",
        "|---|---|---|---|---|---|---|",
    ]
    windows = [
        (s, s.began, scenarios[i + 1].began if i + 1 < len(scenarios) else float("inf"))
        for i, s in enumerate(scenarios)
    ]
    answers_in: dict[str, Counter] = {}
    longest_lag: dict[str, float] = {}
    for scenario in scenarios:
        if scenario.shards:
            delays = [
                _first_applied_after(snapshot.events.values(), scenario.began, k) for k in scenario.shards
            ]
            scenario.recovered = None if None in delays else max(delays)
    for scenario, start, end in windows:
        lags = [  # of events accepted while the fault lasted, until the cluster was whole again
            (e.processed_at - e.created_at).total_seconds()
            for e in snapshot.events.values()
            if e.processed_at and scenario.began <= e.created_at.timestamp() < scenario.ended
        ]
        longest_lag[scenario.name] = max(lags, default=0.0)
        ops = [op for op in driver.operations if op.attempts and start <= op.attempts[0].sent < end]
        # By when the answer came: a request in flight when a fault began is answered by that fault.
        answers_in[scenario.name] = Counter(
            f"{a.status} {a.code}" if a.code else str(a.status or "no answer")
            for op in driver.operations
            for a in op.attempts
            if a.status != 202 and start <= a.answered < end
        )
        requests_sent = sum(len(op.attempts) for op in ops)
        accepted = [op for op in ops if op.event_id]
        lost = sum(
            1
            for op in accepted
            if op.event_id not in snapshot.events or snapshot.events[op.event_id].status == "pending"
        )
        doubled = sum(1 for op in ops if len(events_of.get(op.reference, [])) > 1) + sum(
            1
            for op in ops
            for event in events_of.get(op.reference, [])
            if entries[event.event_id] > {"completed": 2}.get(event.status, 0)
        )
        order = Checker(ops, snapshot, Facts(True, 0, 0, [], [])).own_events_in_order()
        recovered = f"{scenario.recovered:.1f} s" if scenario.recovered is not None else "none"
        lines.append(
            f"| {scenario.name} | {requests_sent} | {len(accepted)} | {lost} | {doubled} |"
            f" {len(order.details)} | {recovered} ({scenario.recovery_meaning}) |"
        )
    sync, async_ = rates["synchronous standby"], rates["asynchronous standby"]
    lines += [
        "",
        f"Deposits accepted, wrk with 16 connections at each web process (median of three):"
        f" {sync['accepted']:.0f}/s"
        f" (p50 {sync['p50']:.1f} ms, p99 {sync['p99']:.1f} ms) with the synchronous standby,"
        f" {async_['accepted']:.0f}/s (p50 {async_['p50']:.1f} ms, p99 {async_['p99']:.1f} ms) without it:"
        f" {(1 - sync['accepted'] / async_['accepted']) * 100:.0f}% fewer.",
        f"Commits alone (pgbench TPC-B-like on the primary, median of four): -c 1 {sync['tps1']:.0f} tps"
        f" synchronous, {async_['tps1']:.0f} asynchronous ({(1 - sync['tps1'] / async_['tps1']) * 100:.0f}%"
        f" fewer); -c 16 {sync['tps16']:.0f} and {async_['tps16']:.0f}"
        f" ({(1 - sync['tps16'] / async_['tps16']) * 100:.0f}% fewer).",
    ]
    if failover:
        lines.append(
            f"PostgreSQL failover: standby promoted {failover['promoted']:.1f} s after the kill;"
            f" old primary streaming as synchronous standby again after {failover['rejoined']:.1f} s."
        )
    lines.append(
        "Start-up " + ", ".join(f"{k} {v:.0f} s" for k, v in startup.items()) + f"; whole run {seconds:.0f} s"
        f" ({dt.datetime.now(dt.UTC):%Y-%m-%d})."
    )
    for scenario in scenarios:
        answers = ", ".join(f"{what}: {n}" for what, n in answers_in[scenario.name].most_common())
        lines.append(
            f"{scenario.name}: {'; '.join(scenario.notes)}; longest apply lag"
            f" {longest_lag[scenario.name]:.1f} s; answers other than 202: {answers or 'none'}"
        )
    return "\n".join(lines)
