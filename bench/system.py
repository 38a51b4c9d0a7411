"""The processes under test, and how much CPU each group of them used."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
_TICKS = os.sysconf("SC_CLK_TCK")
GROUPS = {
    "api (gunicorn)": "gunicorn",
    "worker": "consume_account_events",
    "postgresql": "postgres",
    "rabbitmq": "beam.smp",
    "redis": "redis-server",
    "wrk": "wrk",
}


class Service:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name, self.argv, self.env = name, argv, env
        self.log = log_dir / f"{name}.log"
        self.popen: subprocess.Popen | None = None

    def start(self) -> Service:
        with open(self.log, "ab") as log:
            self.popen = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=log)
        return self

    def stop(self) -> None:
        if self.popen and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            self.popen.wait(60)


def api(env: dict[str, str], log_dir: Path, port: int, name: str = "api") -> Service:
    argv = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"]
    return Service(name, argv, env, log_dir)


def worker(env: dict[str, str], log_dir: Path, shard: int) -> Service:
    argv = [sys.executable, "manage.py", "consume_account_events", "--shard", str(shard)]
    return Service(f"worker-{shard}", argv, env, log_dir)


def wait_ready(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=1).ok:
                return
        except requests.RequestException:
            pass  # not listening yet, or still loading the application
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far by every process of each group (user + system)."""
    totals = dict.fromkeys(GROUPS, 0.0)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        for group, needle in GROUPS.items():
            if needle in cmdline:
                totals[group] += (int(fields[11]) + int(fields[12])) / _TICKS
                break
    return totals


def cpu_share(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, float]:
    """Cores used on average by each group over a window (1.0 = one core busy)."""
    return {group: round((after[group] - before[group]) / seconds, 2) for group in GROUPS}
