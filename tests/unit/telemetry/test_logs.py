"""Log lines: one JSON object each, UTC time, the context's ids, one line per event of a batch."""

from __future__ import annotations

import json
import logging

from telemetry import context
from telemetry.logs import JsonFormatter


def record(message: str, **extra) -> logging.LogRecord:
    made = logging.LogRecord("remit.test", logging.INFO, __file__, 1, message, (), None)
    made.__dict__.update(extra)
    made.created = 0.25  # 1970-01-01T00:00:00.250Z
    return made


def test_a_line_is_one_json_object_with_utc_time_and_the_request_context():
    with context.bound(request_id="req-1", user="alice", event_id=None, account=None):
        line = JsonFormatter().format(record("accepted\nwith a newline"))

    assert "\n" not in line
    assert json.loads(line) == {
        "time": "1970-01-01T00:00:00.250Z",
        "level": "INFO",
        "logger": "remit.test",
        "message": "accepted\nwith a newline",
        "request_id": "req-1",
        "user": "alice",
    }


def test_ids_passed_with_a_line_win_over_the_context_and_absent_ones_are_left_out():
    with context.bound(request_id="outer", user=None, account=None):
        line = json.loads(JsonFormatter().format(record("x", request_id="inner", event_id="e-1")))

    assert (line["request_id"], line["event_id"]) == ("inner", "e-1")
    assert "account" not in line
    assert "user" not in line


def test_a_batch_record_becomes_one_line_per_event():
    each = [{"event_id": "e-1", "account": "a-1"}, {"event_id": "e-2", "account": "a-2", "reason": None}]

    lines = JsonFormatter().format(record("event applied", each=each)).split("\n")

    assert [json.loads(line)["event_id"] for line in lines] == ["e-1", "e-2"]
    assert [json.loads(line)["message"] for line in lines] == ["event applied"] * 2
    assert json.loads(lines[1])["reason"] is None


def test_a_client_request_id_is_kept_only_if_the_contract_allows_it():
    assert context.accept_request_id("order-42/a b") == "order-42/a b"
    assert context.accept_request_id("x" * 200) == "x" * 200
    for refused in (None, "", "x" * 201, "caf\u00e9", "tab\there"):
        made = context.accept_request_id(refused)
        assert made != refused
        assert len(made) == 32
