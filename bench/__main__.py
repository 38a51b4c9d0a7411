"""`python -m bench` (or scripts/bench): every figure of the README's Performance section, in one run.

1. ceilings: pgbench TPC-B-like (-c 1, -c 16), a trivial DRF endpoint under the same gunicorn, and
   the same endpoint committing one row first (the floor of any durable endpoint);
2. the real API at saturation (workers stopped), which also leaves a backlog;
3. the workers draining that backlog (apply rate), then API and workers together at saturation
   (does the backlog grow?), then at half the saturation rate (end-to-end latency);
4. reads of an account with 1,000,000 journal rows against one with none;
for each shard count asked for; then a table, JSON and a PNG chart in bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from bench import load, system  # noqa: E402
from bench.urls import DurableNoopView  # noqa: E402
from ledger.models import Entry  # noqa: E402
from ledger.reconciliation import reconcile  # noqa: E402
from tests.support.oidc_issuer import LoopbackIssuer  # noqa: E402
from transfers.models import Event  # noqa: E402
from web.pagination import encode_cursor  # noqa: E402

# A run writes to bench/runs/ (not tracked); --publish also writes the figures the README shows.
RUNS = system.ROOT / "bench" / "runs"
PUBLISHED = system.ROOT / "bench" / "results"
LEVELS = (8, 16, 32, 64)
# More than the API's waiting places (EVENT_WAITERS_PER_PROCESS, 4, times its 2 processes).
WAITING_CLIENTS = 12
PORT = 8099


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--seconds", type=int, default=10, help="Length of each load step.")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--accounts-per-user", type=int, default=5)
    parser.add_argument(
        "--publish",
        action="store_true",
        help="Also write bench/results/latest.* (the README's figures); commit those on their own.",
    )
    args = parser.parse_args()

    logs = Path(tempfile.mkdtemp(prefix="remit-bench-"))
    report: dict = {"machine": _machine(), "settings": vars(args), "runs": {}}
    print(f"logs in {logs}", flush=True)
    report["ceilings"] = {"pgbench": _pgbench(args.seconds * 3)}
    issuer = LoopbackIssuer(audience=settings.OIDC_AUDIENCE)
    issuer.start()
    for shards in args.shards:
        _reset_database()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "OIDC_ISSUER": issuer.issuer,
            "ACCOUNT_EVENT_SHARDS": str(shards),
        }
        report["runs"][str(shards)] = _run(shards, env, issuer, logs, args, report)
        print(json.dumps(report["runs"][str(shards)], indent=2), flush=True)
    issuer.stop()
    _write(report, publish=args.publish)


def _run(shards: int, env: dict, issuer: LoopbackIssuer, logs: Path, args, report: dict) -> dict:
    base = f"http://127.0.0.1:{PORT}"
    api = system.api(env, logs, PORT, name=f"api-{shards}").start()
    workers = [system.worker(env, logs, shard) for shard in range(shards)]
    for worker in workers:
        worker.start()
    system.wait_ready(base)
    try:
        for ceiling, url in (
            ("trivial_drf", "/api/v1/bench/noop"),
            ("durable_drf", "/api/v1/bench/durable-noop"),
        ):
            if ceiling not in report["ceilings"]:
                noop = load.write_script([load.Request(url, {})], logs / f"{ceiling}.lua")
                report["ceilings"][ceiling] = _saturate(base, noop, args.seconds)
        tokens, accounts = _open_funded_accounts(base, issuer, args.users, args.accounts_per_user)
        _wait_until_applied(timeout=300)
        script = load.write_script(_request_mix(accounts, 4000), logs / "mix.lua", tokens=tokens)

        for worker in workers:
            worker.stop()
        accept = _saturate(base, script, args.seconds)
        backlog = Event.objects.filter(status="pending").count()
        last_applied = _max_processed_at()

        cpu_before, started = system.cpu_seconds(), time.monotonic()
        for worker in workers:
            worker.start()
        _wait_until_applied(timeout=600)
        drain_seconds = time.monotonic() - started
        applying_seconds = _applying_seconds(after=last_applied)
        apply = {
            "backlog": backlog,
            "seconds_with_start_up": round(drain_seconds, 2),
            "seconds_applying": round(applying_seconds, 2),
            "events_per_second": round(backlog / applying_seconds, 1),
            "cpu_cores": system.cpu_share(cpu_before, system.cpu_seconds(), drain_seconds),
        }

        # With the workers stopped again, so that each waiter waits its full 5 s. After the apply
        # figure: the workers drain the saturation run's backlog alone (the apply rate falls as a
        # backlog grows: about 5,000/s at 32,000 events, 3,900/s at 55,000), and this one unmeasured.
        for worker in workers:
            worker.stop()
        accept_beside_waiters = _accept_beside_waiters(
            base, script, accept["connections"], args.seconds, accounts, tokens
        )
        for worker in workers:
            worker.start()
        _wait_until_applied(timeout=600)

        together = _together(base, script, accept["connections"], args.seconds * 2)
        half = _half_rate(
            base,
            _request_mix(accounts, 4000),
            tokens,
            logs,
            accept["requests_per_second"] / 2,
            args.seconds * 2,
        )
        half_waiting = _half_rate_waiting(
            base,
            _request_mix(accounts, 4000),
            tokens,
            logs,
            accept["requests_per_second"] / 2,
            args.seconds * 2,
        )
        reads = _constant_time_reads(base, issuer) if shards == args.shards[0] else None
        broken = [f.check for f in reconcile()]
    finally:
        for worker in workers:
            worker.stop()
        api.stop()
    return {
        "shards": shards,
        "accept": accept,
        "accept_beside_waiters": accept_beside_waiters,
        "apply": apply,
        "together_at_saturation": together,
        "half_rate": half,
        "half_rate_waiting": half_waiting,
        "reads": reads,
        "invariants_broken": broken,
    }


def _open_funded_accounts(base: str, issuer: LoopbackIssuer, users: int, per_user: int):
    tokens, accounts = [], []
    http = requests.Session()
    for number in range(users):
        token = issuer.token(f"bench-user-{number}-{time.time_ns()}")
        tokens.append(token)
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(per_user):
            account = http.post(f"{base}/api/v1/accounts", json={"currency": "KRW"}, headers=headers).json()
            http.post(
                f"{base}/api/v1/accounts/{account['id']}/deposits",
                json={"amount": "5000000"},
                headers=headers,
            )
            accounts.append((account["id"], number))
    return tokens, accounts


def _request_mix(accounts: list[tuple[str, int]], count: int) -> list[load.Request]:
    """40% deposits, 30% withdrawals, 30% transfers, between many accounts of many users."""
    rng = random.Random(42)
    mix = []
    for _ in range(count):
        (account, owner), (other, _) = rng.sample(accounts, 2)
        roll, amount = rng.random(), str(rng.randrange(1000, 20000, 100))
        if roll < 0.4:
            mix.append(load.Request(f"/api/v1/accounts/{account}/deposits", {"amount": amount}, owner))
        elif roll < 0.7:
            mix.append(load.Request(f"/api/v1/accounts/{account}/withdrawals", {"amount": amount}, owner))
        else:
            body = {"from_account": account, "to_account": other, "amount": amount}
            mix.append(load.Request("/api/v1/transfers", body, owner))
    return mix


def _saturate(base: str, script: Path, seconds: int) -> dict:
    """Closed-loop runs at each of LEVELS; the best rate is the saturation point, with its CPU."""
    levels = []
    for connections in LEVELS:
        cpu_before, started = system.cpu_seconds(), time.monotonic()
        result = load.run(base, script, connections=connections, seconds=seconds)
        elapsed = time.monotonic() - started
        cpu = system.cpu_share(cpu_before, system.cpu_seconds(), elapsed)
        cpu["wrk"] = round(result.cpu_seconds / elapsed, 2)  # wrk has exited: its time is a child's
        levels.append(vars(result) | {"cpu_cores": cpu})
    best = max(levels, key=lambda level: level["requests_per_second"])
    rate = best["requests_per_second"]
    per_request = {group: round(1000 * cores / rate, 3) for group, cores in best["cpu_cores"].items()}
    return best | {"cpu_ms_per_request": per_request, "levels": levels}


def _together(base: str, script: Path, connections: int, seconds: int) -> dict:
    """API and workers at the API's saturation concurrency: does the backlog grow?"""
    pending_before = Event.objects.filter(status="pending").count()
    first_seq = _max_seq()
    samples: list[int] = []
    sampler = threading.Thread(target=_sample_backlog, args=(samples, seconds))
    cpu_before, started = system.cpu_seconds(), time.time()
    sampler.start()
    result = load.run(base, script, connections=connections, seconds=seconds)
    elapsed = time.time() - started
    cpu = system.cpu_share(cpu_before, system.cpu_seconds(), elapsed)
    cpu["wrk"] = round(result.cpu_seconds / elapsed, 2)  # wrk has exited: its time is a child's
    sampler.join()
    pending_after = Event.objects.filter(status="pending").count()
    accepted = Event.objects.filter(seq__gt=first_seq).count()
    _wait_until_applied(timeout=600)
    return {
        "connections": connections,
        "accepted_per_second": round(accepted / elapsed, 1),
        "applied_per_second": round((accepted + pending_before - pending_after) / elapsed, 1),
        "pending_before": pending_before,
        "pending_after": pending_after,
        "backlog_each_second": samples,
        "backlog_first_half_mean": round(statistics.mean(samples[: len(samples) // 2]), 1),
        "backlog_second_half_mean": round(statistics.mean(samples[len(samples) // 2 :]), 1),
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "cpu_cores": cpu,
    }


def _sample_backlog(samples: list[int], seconds: int) -> None:
    """Pending events once a second: a backlog that grows shows as a rising series."""
    from django.db import connections

    for _ in range(seconds):
        time.sleep(1)
        samples.append(Event.objects.filter(status="pending").count())
    connections.close_all()


def _half_rate(base: str, mix, tokens, logs: Path, rate: float, seconds: int) -> dict:
    """Paced load at half the saturation rate; latency from acceptance to completion, from the rows."""
    connections = 16
    script = load.write_script(mix, logs / "paced.lua", tokens=tokens, pace_ms=connections * 1000 / rate)
    first_seq = _max_seq()
    result = load.run(base, script, connections=connections, seconds=seconds)
    _wait_until_applied(timeout=600)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP"
            " (ORDER BY extract(epoch FROM processed_at - created_at)), count(*)"
            " FROM transfers_event WHERE seq > %s",
            [first_seq],
        )
        (p50, p99), count = cursor.fetchone()
    return {
        "target_per_second": round(rate, 1),
        "achieved_per_second": result.requests_per_second,
        "events": count,
        "accept_p50_ms": result.p50_ms,
        "accept_p99_ms": result.p99_ms,
        "end_to_end_p50_ms": round(p50 * 1000, 1),
        "end_to_end_p99_ms": round(p99 * 1000, 1),
    }


def _accept_beside_waiters(base: str, script: Path, connections: int, seconds: int, accounts, tokens) -> dict:
    """The accept rate without the header, alone and while requests with `Prefer: wait=5` hold every
    waiting place (the workers are stopped, so each waits its full 5 s): waiting must not starve
    accepting. Alternated twice, back to back, so that a busy machine weighs on both alike. A
    waiting client whose request was answered at once pauses for Retry-After, as clients should."""
    rounds: dict[str, list[float]] = {"alone": [], "beside_waiters": []}
    answers: list[bool] = []
    for _ in range(2):
        rounds["alone"].append(
            load.run(base, script, connections=connections, seconds=seconds).requests_per_second
        )
        stop = threading.Event()

        def wait_in_a_loop(number: int, stop: threading.Event = stop) -> None:
            http = requests.Session()
            account, owner = accounts[number]
            headers = {"Authorization": f"Bearer {tokens[owner]}", "Prefer": "wait=5"}
            while not stop.is_set():
                response = http.post(
                    f"{base}/api/v1/accounts/{account}/deposits",
                    json={"amount": "100"},
                    headers=headers,
                    timeout=30,
                )
                waited = "Preference-Applied" in response.headers
                answers.append(waited)
                if not waited:  # no waiting place was free: pause before the next, as a client should
                    time.sleep(int(response.headers.get("Retry-After", 1)))

        waiters = [threading.Thread(target=wait_in_a_loop, args=(n,)) for n in range(WAITING_CLIENTS)]
        for thread in waiters:
            thread.start()
        time.sleep(1)  # every waiting place taken
        result = load.run(base, script, connections=connections, seconds=seconds)
        rounds["beside_waiters"].append(result.requests_per_second)
        stop.set()
        for thread in waiters:
            thread.join()
    alone, beside = statistics.mean(rounds["alone"]), statistics.mean(rounds["beside_waiters"])
    return {
        "connections": connections,
        "alone_per_second": round(alone, 1),
        "beside_waiters_per_second": round(beside, 1),
        "ratio": round(beside / alone, 3),
        "rounds": rounds,
        "waiting_clients": WAITING_CLIENTS,
        "waiter_answers": len(answers),
        "waiter_answers_that_waited": sum(answers),
    }


def _half_rate_waiting(base: str, mix, tokens, logs: Path, rate: float, seconds: int) -> dict:
    """Paced load at half the saturation rate, every request with `Prefer: wait=5`: request to answer.

    A 200 is the final event, so its latency is request to final answer; a 202 came at once because
    every waiting place of its process was taken, and its outcome is to be read later."""
    connections = 16
    script = load.write_script(
        mix,
        logs / "paced-waiting.lua",
        tokens=tokens,
        pace_ms=connections * 1000 / rate,
        headers={"Prefer": "wait=5"},
        count_statuses=True,
    )
    result = load.run(base, script, connections=connections, seconds=seconds)
    _wait_until_applied(timeout=600)
    statuses = result.statuses or {}
    return {
        "target_per_second": round(rate, 1),
        "achieved_per_second": result.requests_per_second,
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "statuses": statuses,
        "final_share": round(statuses.get(200, 0) / max(1, sum(statuses.values())), 4),
    }


def _constant_time_reads(base: str, issuer: LoopbackIssuer, rows: int = 1_000_000) -> dict:
    """GET an account with `rows` journal entries and one with none: the read must not sum history."""
    token = issuer.token(f"bench-reader-{time.time_ns()}")
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    busy = http.post(f"{base}/api/v1/accounts", json={"currency": "KRW"}).json()["id"]
    quiet = http.post(f"{base}/api/v1/accounts", json={"currency": "KRW"}).json()["id"]
    with connection.cursor() as cursor:
        # Bulk history straight into the journal: one-unit deposits, each balanced by settlement.
        cursor.execute("SET statement_timeout = 0")  # a million rows take longer than a request may
        cursor.execute("SET session_replication_role = replica")  # skip the per-row journal triggers
        cursor.execute(
            "INSERT INTO ledger_entry (transaction_id, account_id, type, amount, balance_after, created_at)"
            " SELECT gen_random_uuid(), %s, 'deposit', 1, n, now() FROM generate_series(1, %s) n",
            [busy, rows],
        )
        cursor.execute("SET session_replication_role = DEFAULT")
        cursor.execute("UPDATE accounts_account SET balance = %s WHERE id = %s", [rows, busy])
        cursor.execute("ANALYZE ledger_entry")
    timings = {}
    for name, account in (("account_with_1m_entries", busy), ("account_with_no_entries", quiet)):
        samples = []
        for _ in range(300):
            started = time.perf_counter()
            assert http.get(f"{base}/api/v1/accounts/{account}").ok
            samples.append((time.perf_counter() - started) * 1000)
        timings[name] = {"p50_ms": round(statistics.median(samples), 2), "p99_ms": round(_p99(samples), 2)}
    timings["entries_pages"] = _entry_pages(http, base, busy, rows)
    with connection.cursor() as cursor:  # leave a ledger that reconciles: take the bulk rows out again
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("DELETE FROM ledger_entry WHERE account_id = %s", [busy])
        cursor.execute("SET session_replication_role = DEFAULT")
        cursor.execute("UPDATE accounts_account SET balance = 0 WHERE id = %s", [busy])
    return timings


def _entry_pages(http: requests.Session, base: str, account: str, rows: int) -> dict:
    """The first and the last page of 50 of a long journal, by page number and by cursor."""
    first_id = Entry.objects.filter(account_id=account).order_by("id").values_list("id", flat=True)[0]
    path = f"{base}/api/v1/accounts/{account}/entries"
    pages = {
        "page_first": {"page": 1},
        "page_last": {"page": rows // 50},
        "cursor_first": {"cursor": ""},
        "cursor_last": {"cursor": encode_cursor(first_id + 50)},
    }
    timings = {}
    for name, params in pages.items():
        samples = []
        for _ in range(50):
            started = time.perf_counter()
            response = http.get(path, params=params)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.ok, response.text
            assert len(response.json()["results"]) == 50
        timings[name] = {"p50_ms": round(statistics.median(samples), 2), "p99_ms": round(_p99(samples), 2)}
    return timings


def _pgbench(seconds: int) -> dict:
    database = "remit_pgbench"
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", database], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", database], check=True)
    subprocess.run(
        ["pgbench", "-h", "127.0.0.1", "-U", "postgres", "-i", "-s", "10", "-q", database],
        check=True, capture_output=True,
    )  # fmt: skip
    result = {}
    for clients, threads in ((1, 1), (16, 2)):
        output = subprocess.run(
            ["pgbench", "-h", "127.0.0.1", "-U", "postgres", "-c", str(clients), "-j", str(threads),
             "-T", str(seconds), database],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        result[f"c{clients}_tps"] = round(float(re.search(r"tps = ([\d.]+)", output).group(1)), 1)
    return result


def _reset_database() -> None:
    connection.close()
    name = settings.DATABASES["default"]["NAME"]
    subprocess.run(
        ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force", name], check=True
    )
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], check=True, cwd=system.ROOT)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {DurableNoopView.TABLE} (id uuid PRIMARY KEY)")
    vhost = settings.RABBITMQ_URL.rsplit("/", 1)[1]
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True)
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True)
    subprocess.run(
        ["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"], check=True
    )


def _wait_until_applied(timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while Event.objects.filter(status="pending").exists():
        if time.monotonic() > deadline:
            raise RuntimeError("events still pending: is a worker down?")
        time.sleep(0.05)


def _max_processed_at():
    return (
        Event.objects.exclude(processed_at=None)
        .order_by("-processed_at")
        .values_list("processed_at", flat=True)
        .first()
    )


def _applying_seconds(*, after) -> float:
    """From the first to the last event the workers applied after `after` (their start-up excluded)."""
    applied = Event.objects.exclude(processed_at=None)
    if after is not None:
        applied = applied.filter(processed_at__gt=after)
    first = applied.order_by("processed_at").values_list("processed_at", flat=True).first()
    last = applied.order_by("-processed_at").values_list("processed_at", flat=True).first()
    return (last - first).total_seconds()


def _max_seq() -> int:
    return Event.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def _p99(samples: list[float]) -> float:
    return sorted(samples)[int(len(samples) * 0.99) - 1]


def _machine() -> dict:
    return {"cores": os.cpu_count(), "python": platform.python_version(), "date": time.strftime("%Y-%m-%d")}


def _write(report: dict, *, publish: bool) -> None:
    from bench.report import chart, table

    run = RUNS / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    for folder in (run, PUBLISHED) if publish else (run,):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
        (folder / "latest.md").write_text(table(report))
        chart(report, folder / "latest.png")
    print(table(report))
    print(f"written to {run}" + (f" and {PUBLISHED}" if publish else ""))


if __name__ == "__main__":
    main()
