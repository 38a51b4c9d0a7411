"""Request ids the API makes for requests that came without one."""

from __future__ import annotations

import os
import random

from telemetry import context


def test_a_forked_worker_makes_request_ids_of_its_own():
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child, as a gunicorn worker forked from the master
        try:
            os.write(write, context.accept_request_id(None).encode())
        finally:
            os._exit(0)
    try:
        os.waitpid(pid, 0)
        childs = os.read(read, 64).decode()
    finally:
        os.close(read)
        os.close(write)
    mine = context.accept_request_id(None)

    assert len(childs) == len(mine) == 32
    int(childs, 16), int(mine, 16)  # hexadecimal, as uuid4().hex was
    assert childs != mine  # without a reseed at fork, the two would be the same


def test_seeding_python_random_elsewhere_does_not_make_ids_repeat():
    random.seed(42)
    first = context.accept_request_id(None)
    random.seed(42)

    assert context.accept_request_id(None) != first
