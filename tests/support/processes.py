"""The real processes an end-to-end test drives: the API under gunicorn and the worker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Process:
    """A child process with its output in a log file under the test's temporary directory."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.popen: subprocess.Popen | None = None
        self.metrics_url: str | None = None
        self.starts = 0

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it until it exits
        self.popen = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=log)
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL: no clean-up, as in a crash."""
        assert self.popen is not None
        self.popen.kill()
        self.popen.wait()

    def terminate(self, timeout: float = 30) -> int:
        assert self.popen is not None
        self.popen.send_signal(signal.SIGTERM)
        return self.popen.wait(timeout)

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def api_process(
    env: dict[str, str], log_dir: Path, *, name: str = "api", workers: int = 2
) -> tuple[Process, str]:
    """The API under gunicorn as deployed, on a free port; and its base URL."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "deploy/gunicorn.conf.py",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        "8",
    ]
    return Process(name, argv, env, log_dir), f"http://127.0.0.1:{port}"


def worker_process(env: dict[str, str], log_dir: Path, *, shard: int = 0, name: str = "worker") -> Process:
    """The worker of a shard, serving its metrics at `process.metrics_url`."""
    port = free_port()
    argv = [sys.executable, "manage.py", "consume_account_events", "--shard", str(shard)]
    argv += ["--metrics-port", str(port), "--metrics-address", "127.0.0.1"]
    process = Process(name, argv, env, log_dir)
    process.metrics_url = f"http://127.0.0.1:{port}/metrics"
    return process


def manage(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run a management command in a child process, as an operator would."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=check,
        capture_output=True,
        text=True,
        timeout=120,
    )


def wait_until_ready(base_url: str, process: Process, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.popen is not None
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited early:\n{process.log()}")
        try:
            if requests.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass  # not listening yet, or still loading the application
        time.sleep(0.1)
    raise RuntimeError(f"{process.name} did not become ready:\n{process.log()}")


def child_environment(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(overrides)
    return env
