"""What an operator sees of real traffic: both metrics endpoints, and one request followed in the logs."""

from __future__ import annotations

import json
import time
import uuid

import pika
import pytest
import requests

from messaging.schema import EXCHANGE
from tests.support.api import wait_until_final
from tests.support.metrics import Scrape
from transfers.models import Event

DEPOSITS = "api/v1/accounts/<uuid:account_id>/deposits"


def scrape_until(url: str, done, timeout: float = 30) -> Scrape:
    """Read the endpoint until `done(scrape)`: the worker counts an event just after its commit."""
    deadline = time.monotonic() + timeout
    while True:
        scrape = Scrape(url)
        if done(scrape) or time.monotonic() > deadline:
            return scrape
        time.sleep(0.1)


def first_scrape(url: str, timeout: float = 30) -> Scrape:
    """The first read once the endpoint answers (the worker may still be starting)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return Scrape(url)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def publish_undecodable(system) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(system.env["RABBITMQ_URL"]))
    try:
        channel = connection.channel()
        channel.basic_publish(EXCHANGE, "account.deposit", b"not json")
    finally:
        connection.close()


def test_both_metrics_endpoints_count_what_the_traffic_did(system, new_user):
    api_before, worker_before = Scrape(f"{system.base_url}/metrics"), first_scrape(system.worker.metrics_url)
    alice, bob = new_user(), new_user()
    source, target = alice.open_account("KRW")["id"], bob.open_account("KRW")["id"]

    accepted = [
        alice.deposit(source, "10000"),
        alice.deposit(source, "5000"),
        alice.transfer(source, target, "3000"),
        alice.withdraw(source, "1000000"),  # more than the balance: rejected by the worker
    ]
    wait_until_final([r.json()["event_id"] for r in accepted])
    publish_undecodable(system)
    worker = scrape_until(
        system.worker.metrics_url,
        lambda s: (
            s.since(worker_before, "remit_dead_letters_total", reason="undecodable") >= 1
            and s.since(worker_before, "remit_event_apply_lag_seconds_count") >= 4
        ),
    )
    api = Scrape(f"{system.base_url}/metrics")

    assert [r.status_code for r in accepted] == [202] * 4
    assert api.since(api_before, "remit_events_accepted_total", type="deposit") == 2
    assert api.since(api_before, "remit_events_accepted_total", type="transfer") == 1
    assert api.since(api_before, "remit_events_accepted_total", type="withdrawal") == 1
    deposits = {"method": "POST", "route": DEPOSITS, "status": "202"}
    assert api.since(api_before, "remit_http_requests_total", **deposits) == 2
    assert (
        api.since(api_before, "remit_http_request_duration_seconds_count", method="POST", route=DEPOSITS) == 2
    )
    final = {
        ("deposit", "completed", ""): 2,
        ("transfer", "completed", ""): 1,
        ("withdrawal", "rejected", "insufficient_funds"): 1,
    }
    for (kind, status, reason), count in final.items():
        delta = worker.since(
            worker_before, "remit_events_final_total", type=kind, status=status, reason=reason
        )
        assert delta == count, (kind, status, reason)
    assert worker.since(worker_before, "remit_event_apply_lag_seconds_count") == 4
    assert worker.since(worker_before, "remit_event_apply_lag_seconds_sum") > 0
    assert worker.since(worker_before, "remit_apply_batch_size_sum") == 4
    assert worker.since(worker_before, "remit_relay_published_total", shard="0") == 4
    assert worker.since(worker_before, "remit_relay_confirmed_total", shard="0") == 4
    assert worker.since(worker_before, "remit_dead_letters_total", reason="undecodable") == 1
    assert worker.value("remit_consumer_up", shard="0") == 1
    assert worker.value("remit_relay_up", shard="0") == 1
    assert worker.value("remit_outbox_depth", shard="0") == 0
    assert api.value("remit_limit_cache_bypassed_until_seconds") < time.time()
    assert api.value("remit_admission_max_lag_seconds") == 30
    assert 0 <= api.value("remit_admission_oldest_pending_age_seconds") < 30


def log_lines(process) -> list[dict]:
    """Every line of a process's log, each of which must be one JSON object."""
    return [json.loads(line) for line in process.log().splitlines() if line.strip()]


def test_one_transfer_is_followed_by_its_request_id_from_the_request_to_its_apply(system, new_user):
    alice, bob = new_user(), new_user()
    source, target = alice.open_account("KRW")["id"], bob.open_account("KRW")["id"]
    alice.deposit(source, "10000")
    request_id = f"follow-me-{uuid.uuid4()}"

    response = alice.post(
        "/api/v1/transfers",
        {"from_account": source, "to_account": target, "amount": "2500"},
        headers={"X-Request-ID": request_id},
    )
    event_id = response.json()["event_id"]
    wait_until_final([event_id])
    deadline = time.monotonic() + 10
    while not any(
        line.get("request_id") == request_id and line["message"] == "event applied"
        for line in log_lines(system.worker)
    ):
        assert time.monotonic() < deadline, "the worker logged no apply line for the request"
        time.sleep(0.1)

    assert response.headers["X-Request-ID"] == request_id
    assert Event.objects.get(event_id=event_id).request_id == request_id
    api_lines = [line for line in log_lines(system.api) if line.get("request_id") == request_id]
    worker_lines = [line for line in log_lines(system.worker) if line.get("request_id") == request_id]
    access = [line for line in api_lines if line["logger"] == "gunicorn.access"]
    assert [(a["method"], a["path"], a["status"]) for a in access] == [("POST", "/api/v1/transfers", 202)]
    assert access[0]["user"]
    assert [line["message"] for line in worker_lines] == ["event relayed", "event applied"]
    for line in worker_lines:
        assert (line["event_id"], line["account"]) == (event_id, source)
    assert worker_lines[1]["status"] == "completed"
    for line in api_lines + worker_lines:
        assert line["time"].endswith("Z")
        assert {"time", "level", "logger", "message"} <= line.keys()


@pytest.mark.parametrize("sent", [None, "", "x" * 201, "caf\u00e9"])
def test_a_request_without_a_usable_id_gets_a_new_one(system, sent):
    headers = {} if sent is None else {"X-Request-ID": sent.encode("utf-8").decode("latin-1")}

    response = requests.get(f"{system.base_url}/healthz", headers=headers, timeout=10)

    assert response.status_code == 200
    assert response.headers["X-Request-ID"] not in ("", sent)
    assert len(response.headers["X-Request-ID"]) == 32
