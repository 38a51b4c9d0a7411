"""The access log's handler (telemetry.gunicorn.FlushedAside) and the request ids it carries."""

from __future__ import annotations

import json
import logging
import os
import time

from telemetry import context
from telemetry.gunicorn import FlushedAside
from telemetry.logs import JsonFormatter


def _handler(tmp_path, **kwargs) -> tuple[FlushedAside, object]:
    stream = open(tmp_path / "access.log", "w")  # noqa: SIM115 - closed by the tests
    handler = FlushedAside(stream, **kwargs)
    handler.setFormatter(JsonFormatter())
    return handler, stream


def _line(message: str) -> logging.LogRecord:
    return logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, message, (), None)


def test_a_line_is_written_without_a_flush_of_its_own_and_is_there_after_one(tmp_path):
    handler, stream = _handler(tmp_path, flush_every_seconds=3600)
    handler.handle(_line("POST /api/v1/transfers 202"))

    assert (tmp_path / "access.log").read_text() == ""  # still in the stream's buffer
    handler.flush()  # as deploy/gunicorn.conf.py does when a worker exits
    assert json.loads((tmp_path / "access.log").read_text())["message"] == "POST /api/v1/transfers 202"
    stream.close()


def test_lines_reach_the_file_on_their_own_soon_after(tmp_path):
    handler, stream = _handler(tmp_path, flush_every_seconds=0.05)
    handler.handle(_line("GET /api/v1/accounts 200"))

    deadline = time.monotonic() + 10
    while not (tmp_path / "access.log").read_text() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert json.loads((tmp_path / "access.log").read_text())["message"] == "GET /api/v1/accounts 200"
    stream.close()


def test_gunicorn_stdout_handler_is_replaced_keeping_its_formatter_and_mark():
    original = logging.StreamHandler()
    original.setFormatter(JsonFormatter())
    original._gunicorn = True

    aside = FlushedAside.replacing(original)

    assert aside.stream is original.stream
    assert aside.formatter is original.formatter
    assert aside._gunicorn is True


def test_a_forked_worker_makes_request_ids_of_its_own():
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child, as a gunicorn worker forked from the master
        os.write(write, context.accept_request_id(None).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    childs = os.read(read, 64).decode()
    mine = context.accept_request_id(None)

    assert len(childs) == len(mine) == 32
    int(childs, 16), int(mine, 16)  # hexadecimal, as uuid4().hex was
    assert childs != mine  # without a reseed at fork, the two would be the same
