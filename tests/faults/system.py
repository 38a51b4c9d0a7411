"""The system under the campaign: private servers, the API behind a TCP proxy to PostgreSQL, the workers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from tests.faults.servers import PrivatePostgres, PrivateRabbitMQ, PrivateRedis
from tests.support.oidc_issuer import LoopbackIssuer
from tests.support.processes import Process, api_process, child_environment, manage, wait_until_ready
from tests.support.proxy import TcpProxy

AUDIENCE = "remit-api"


class System:
    """Everything a run needs, started in `start` and torn down by the ExitStack it was given."""

    def __init__(self, folder: Path, *, seed: int, shards: int = 1, standby: bool = True) -> None:
        self.folder = folder
        self.logs = folder / "logs"
        self.logs.mkdir(parents=True)
        servers = folder / "servers"
        servers.mkdir()
        self.postgres = PrivatePostgres(servers)
        self.redis = PrivateRedis(servers)
        self.rabbitmq = PrivateRabbitMQ(servers)
        self.issuer = LoopbackIssuer(audience=AUDIENCE)
        self.seed = seed
        self.shards = shards
        self.standby = standby
        self.proxy: TcpProxy | None = None
        self.api: Process | None = None
        self.base_url = ""
        self.env: dict[str, str] = {}
        self.workers: list[Process] = []
        # Who is down on purpose: a worker found dead without being in here died by itself.
        self.stopped_on_purpose: set[str] = set()
        self.unexpected_exits: list[str] = []
        self._deaths_seen: set[int] = set()
        self.startup_seconds: dict[str, float] = {}
        self.worker_lock = threading.RLock()

    def start(self, stack: ExitStack) -> None:
        began = time.monotonic()
        stack.callback(self.rabbitmq.stop)
        self.rabbitmq.start()  # the slowest; it boots while the rest is set up
        stack.callback(self.postgres.stop)
        self._timed("postgresql", self.postgres.start)
        stack.callback(self.redis.kill)
        self._timed("redis", self.redis.start)
        self.issuer.start()
        stack.callback(self.issuer.stop)
        self.proxy = TcpProxy("127.0.0.1", self.postgres.port, seed=self.seed)
        self.proxy.start()
        stack.callback(self.proxy.stop)
        self.env = child_environment(
            DJANGO_SETTINGS_MODULE="config.settings.test",
            DEBUG="false",
            OIDC_ISSUER=self.issuer.issuer,
            OIDC_AUDIENCE=AUDIENCE,
            REDIS_URL=self.redis.url,
            RABBITMQ_URL=self.rabbitmq.url,
            ACCOUNT_EVENT_SHARDS=str(self.shards),
            DATABASE_URL=self.postgres.url,
        )
        self._timed("migrate", lambda: self.manage("migrate", "-v", "0"))
        rabbit_began = time.monotonic()
        self.rabbitmq.await_startup()
        self.startup_seconds["rabbitmq (waited)"] = time.monotonic() - rabbit_began
        api_env = {**self.env, "DATABASE_URL": f"postgres://postgres@127.0.0.1:{self.proxy.port}/remit"}
        self.api, self.base_url = api_process(api_env, self.logs)
        self.api.start()
        stack.callback(self.api.stop)
        for shard in range(self.shards):
            names = [f"worker-{shard}", *([f"standby-{shard}"] if self.standby else [])]
            for name in names:
                worker = Process(
                    name,
                    [sys.executable, "manage.py", "consume_account_events", "--shard", str(shard)],
                    self.env,
                    self.logs,
                )
                worker.start()
                stack.callback(worker.stop)
                self.workers.append(worker)
        self._timed("api", lambda: wait_until_ready(self.base_url, self.api))
        self.startup_seconds["total"] = time.monotonic() - began

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a management command against the private database, as an operator would."""
        return manage(self.env, *args, check=check)

    # Workers

    def notice_worker_deaths(self) -> list[Process]:
        """Record each worker that exited although nobody stopped it, and return them."""
        with self.worker_lock:
            dead = [
                worker
                for worker in self.workers
                if worker.popen is not None
                and worker.popen.poll() is not None
                and worker.name not in self.stopped_on_purpose
                and worker.popen.pid not in self._deaths_seen
            ]
            for worker in dead:
                self._deaths_seen.add(worker.popen.pid)
                self.unexpected_exits.append(f"{worker.name} exited {worker.popen.returncode}")
            return dead

    def supervise(self, stop: threading.Event) -> None:
        """Restart a worker that died by itself a second later, as systemd or Kubernetes would."""
        while not stop.wait(1.0):
            with self.worker_lock:
                for worker in self.notice_worker_deaths():
                    worker.start()

    def kill_worker(self, worker: Process) -> None:
        with self.worker_lock:
            self.notice_worker_deaths()
            self.stopped_on_purpose.add(worker.name)
            worker.kill()

    def terminate_worker(self, worker: Process, *, once_up: bool = False) -> int | None:
        """SIGTERM and the exit code (None if it had to be killed after 30 s).

        `once_up`: first wait (up to 15 s) until the worker consumes. One that another fault has
        just restarted may still be importing Django, and SIGTERM would end it before it has set
        its handler (exit -15), which says nothing of a graceful stop."""
        with self.worker_lock:
            deadline = time.monotonic() + 15
            while once_up and worker.log().count('"message": "consuming ') < worker.starts:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            self.notice_worker_deaths()
            self.stopped_on_purpose.add(worker.name)
            try:
                return worker.terminate(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                return None

    def start_worker(self, worker: Process) -> None:
        with self.worker_lock:
            if worker.popen is None or worker.popen.poll() is not None:
                worker.start()
            self.stopped_on_purpose.discard(worker.name)

    def running_workers(self) -> list[Process]:
        return [w for w in self.workers if w.popen is not None and w.popen.poll() is None]

    # The API

    def api_worker_pids(self) -> list[int]:
        """The gunicorn worker processes (children of the master)."""
        assert self.api is not None
        assert self.api.popen is not None
        master = self.api.popen.pid
        children = Path(f"/proc/{master}/task/{master}/children")
        with contextlib.suppress(OSError):
            return [int(pid) for pid in children.read_text().split()]
        return []

    def kill_api_worker(self, pid: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    # Health, for healing at the end

    def heal_all(self) -> None:
        """Bring every server and process back to health, whatever the faults left behind."""
        assert self.proxy is not None
        self.proxy.heal()
        if not self.redis.running():
            self.redis.start()
        else:
            self.redis.thaw()
        if not self.postgres.answers():
            self.postgres.restart_fast()
        with contextlib.suppress(subprocess.CalledProcessError):
            self.rabbitmq.start_app()  # a no-op if it runs
        with self.worker_lock:
            self.notice_worker_deaths()
            for worker in self.workers:
                self.start_worker(worker)

    def _timed(self, name: str, step) -> None:
        began = time.monotonic()
        step()
        self.startup_seconds[name] = time.monotonic() - began
