"""`scripts/run` as a developer uses it: Ctrl-C, a second start, a process that dies.

The script runs on a database and vhost of its own. Its `rabbitmq-plugins enable` is answered by a
stand-in on PATH, so that the tests leave the machine's RabbitMQ as they found it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import NAMESPACE
from tests.support.processes import ROOT

PORTS = (8000, 8080, 9100)
pytestmark = pytest.mark.timeout(600)


def taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def run_environment(tmp_path: Path) -> dict[str, str]:
    if any(taken(port) for port in PORTS):
        pytest.skip("a system already runs on this machine's ports 8000, 8080 or 9100")
    shims = tmp_path / "bin"
    shims.mkdir()
    (shims / "rabbitmq-plugins").write_text('#!/bin/sh\necho "rabbitmq-plugins $*" >>"$0.calls"\n')
    (shims / "rabbitmq-plugins").chmod(0o755)
    database = connection.settings_dict
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))},
        "PATH": f"{shims}:{os.environ['PATH']}",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/remit_run{NAMESPACE}",
        "RABBITMQ_URL": f"amqp://guest:guest@127.0.0.1:5672/remit_e2e{NAMESPACE}",
        "REDIS_URL": "redis://127.0.0.1:6379/1",
    }


class Run:
    """scripts/run in a session of its own, as a terminal starts a command (Ctrl-C signals the group)."""

    def __init__(self, env: dict[str, str], output: Path) -> None:
        self.output_path = output
        with open(output, "w") as sink:
            self.popen = subprocess.Popen(
                ["scripts/run"],
                cwd=ROOT,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_signals_as_a_terminal_leaves_them,
            )

    def output(self) -> str:
        return self.output_path.read_text(errors="replace")

    def wait_until_running(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while "Stop:" not in self.output():  # the banner's last line, after the demo data
            assert self.popen.poll() is None, self.output()
            assert time.monotonic() < deadline, f"scripts/run did not come up:\n{self.output()}"
            time.sleep(0.5)

    def stop(self) -> None:
        """Ctrl-C if still running, then SIGTERM: a SIGKILL would leave its processes, each in a
        session of its own."""
        for stop_signal in (signal.SIGINT, signal.SIGTERM):
            if self.popen.poll() is not None:
                return
            os.killpg(self.popen.pid, stop_signal)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(30)


def _signals_as_a_terminal_leaves_them() -> None:
    """A command a terminal starts can trap Ctrl-C; one started in the background of a shell without
    job control (as a CI runner may start the tests) inherits SIGINT ignored, and bash cannot trap a
    signal ignored on entry."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


def browser_connections() -> list[socket.socket]:
    """What a browser leaves after Swagger and the admin: kept-alive connections, and idle ones it
    opened ahead of need."""
    kept = []
    for path in ("/api/docs/", "/api/schema/", "/admin/login/", "/readyz"):
        sock = socket.create_connection(("127.0.0.1", 8000))
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        sock.recv(65536)
        kept.append(sock)
    return kept + [socket.create_connection(("127.0.0.1", 8000)) for _ in range(3)]


def test_ctrl_c_stops_everything_within_five_seconds_and_a_second_run_leaves_the_first_alone(
    run_environment, tmp_path
):
    run = Run(run_environment, tmp_path / "run.out")
    try:
        run.wait_until_running()
        logs = {path: path.read_bytes() for path in (ROOT / ".run").glob("*.log")}
        second = subprocess.run(
            ["scripts/run"], cwd=ROOT, env=run_environment, capture_output=True, text=True, timeout=60
        )
        connections = browser_connections()
        # A person's Ctrl-C comes after the page loads, not within milliseconds of its connections:
        # a gunicorn worker quit in the very moment it takes a new connection may miss the quit
        # (seen in about half the runs without this pause); scripts/run then kills it at 4.5 s.
        time.sleep(0.5)

        stopping = time.monotonic()
        os.killpg(run.popen.pid, signal.SIGINT)
        run.popen.wait(30)
        stopped_after = time.monotonic() - stopping
    finally:
        run.stop()
    for sock in connections:
        sock.close()

    assert second.returncode == 1
    assert "already running" in second.stderr
    assert logs.keys() >= {ROOT / ".run/api.log", ROOT / ".run/worker.log", ROOT / ".run/dev-idp.log"}
    assert stopped_after < 5, stopped_after
    assert not any(taken(port) for port in PORTS)
    assert "did not stop" not in run.output()
    assert {
        path: path.read_bytes()[: len(logs[path])] for path in logs
    } == logs  # the second run wrote nothing


def test_when_a_process_dies_the_script_names_it_and_its_log_and_stops_the_rest(run_environment, tmp_path):
    run = Run(run_environment, tmp_path / "run.out")
    try:
        run.wait_until_running()
        worker = subprocess.run(
            ["pgrep", "-f", "consume_account_events --metrics-port 9100"], capture_output=True, text=True
        ).stdout.split()

        os.kill(int(worker[0]), signal.SIGKILL)
        run.popen.wait(30)
    finally:
        run.stop()

    output = run.output()
    assert run.popen.returncode == 1
    assert "worker stopped (exit status 137); its log: .run/worker.log. Stopping the rest." in output
    assert not any(taken(port) for port in PORTS)
