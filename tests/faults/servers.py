"""The campaign's own PostgreSQL, Redis and RabbitMQ, in a temporary folder on free ports, so that
restarting or freezing them never touches the machine's servers that other tests use."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import redis

from tests.support.processes import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
DATABASE = "remit"


def _as(user: str) -> list[str]:
    """PostgreSQL and RabbitMQ refuse to run as root: run them as their own system user."""
    return ["runuser", "-u", user, "--"] if os.geteuid() == 0 else []


def _owned_folder(path: Path, user: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)  # a node started again keeps its folder
    if os.geteuid() == 0:
        shutil.chown(path, user)
    return path


def _wait(condition, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:.0f}s")
        time.sleep(0.1)


def _end_group(popen: subprocess.Popen | None) -> None:
    """SIGKILL a child started in its own session, and whatever it started in that session."""
    if popen is None or popen.poll() is not None:
        return
    try:
        os.killpg(popen.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    popen.wait(10)


class PrivatePostgres:
    """A PostgreSQL 15 cluster with trust authentication, its socket in its own folder."""

    def __init__(self, root: Path) -> None:
        self.data = root / "pg"
        self.sockets = root / "pg-socket"
        self.log = root / "postgresql.log"
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def start(self) -> None:
        _owned_folder(self.data, "postgres")
        _owned_folder(self.sockets, "postgres")
        self.log.touch()
        if os.geteuid() == 0:
            shutil.chown(self.log, "postgres")
        initdb = [str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"]
        subprocess.run(
            [*_as("postgres"), *initdb, "--no-sync", "-E", "UTF8"], check=True, capture_output=True
        )
        # fsync off: the campaign restarts the server cleanly; it never pulls the machine's power.
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("start", "-l", str(self.log), "-o", options)
        with self.connect("postgres") as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")

    def restart_fast(self) -> None:
        """`pg_ctl restart -m fast`: every session is ended, the server comes back on the same port."""
        self._pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg_ctl("stop", "-m", "immediate")

    def connect(self, database: str = DATABASE) -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user="postgres",
            dbname=database,
            autocommit=True,
            connect_timeout=5,
        )

    def answers(self) -> bool:
        try:
            with self.connect() as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def _pg_ctl(self, action: str, *args: str) -> None:
        argv = [*_as("postgres"), str(PG_BIN / "pg_ctl"), action, "-D", str(self.data), "-w", "-s", *args]
        subprocess.run(argv, check=True, timeout=120, stdout=subprocess.DEVNULL)


class PrivateRedis:
    """A Redis server without persistence, run in the foreground as our child."""

    def __init__(self, root: Path) -> None:
        self.log = root / "redis.log"
        self.port = free_port()
        self.popen: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
        with open(self.log, "ab") as log:
            self.popen = subprocess.Popen(
                [*argv, "no", "--daemonize", "no"], stdout=log, stderr=log, start_new_session=True
            )
        _wait(self.answers, "Redis answering", 30)

    def stop(self) -> None:
        """SIGTERM: connections are refused until `start` runs again."""
        if self.popen is not None and self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGCONT)  # a frozen Redis cannot act on SIGTERM
            self.popen.terminate()
            self.popen.wait(10)

    def freeze(self) -> None:
        assert self.popen is not None
        os.kill(self.popen.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.popen is not None
        os.kill(self.popen.pid, signal.SIGCONT)

    def flush(self) -> None:
        self._client().flushall()

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def answers(self) -> bool:
        try:
            return bool(self._client().ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        _end_group(self.popen)

    def _client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1, socket_connect_timeout=1)


class PrivateRabbitMQ:
    """A RabbitMQ node of its own name, ports, database and logs; no plugins (so no management port)."""

    def __init__(self, root: Path, *, prefix: str = "remit-faults", settings: str = "") -> None:
        self.folder = root / "rabbitmq"
        self.port = free_port()
        self.dist_port = free_port()
        self.node = f"{prefix}-{os.getpid()}-{self.port}@localhost"
        self.settings = settings  # more rabbitmq.conf lines
        self.popen: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def start(self) -> None:
        """Start the node in the background; `await_startup` waits for it."""
        _owned_folder(self.folder, "rabbitmq")
        (self.folder / "enabled_plugins").write_text("[].\n")
        (self.folder / "rabbitmq-env.conf").write_text("")  # not the machine's, which names its node
        (self.folder / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.port}\n{self.settings}"
        )
        env = {
            **os.environ,
            "HOME": "/var/lib/rabbitmq",  # its Erlang cookie, which rabbitmqctl uses too
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(self.folder / "rabbitmq-env.conf"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }
        with open(self.folder / "server.log", "ab") as log:
            self.popen = subprocess.Popen(
                [*_as("rabbitmq"), "/usr/lib/rabbitmq/bin/rabbitmq-server"],
                cwd=self.folder,
                env=env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )

    def await_startup(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        # await_startup fails at once while the node has not registered its name yet.
        while subprocess.run(self._ctl("await_startup", "--timeout", "60"), capture_output=True).returncode:
            if self.popen is not None and self.popen.poll() is not None:
                raise RuntimeError(f"RabbitMQ exited: {(self.folder / 'server.log').read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"RabbitMQ node {self.node} did not start within {timeout:.0f}s")
            time.sleep(0.3)

    def stop_app(self) -> None:
        subprocess.run(self._ctl("stop_app"), check=True, capture_output=True, timeout=120)

    def start_app(self) -> None:
        subprocess.run(self._ctl("start_app"), check=True, capture_output=True, timeout=120)
        self.await_startup()

    def queue_depths(self) -> dict[str, int]:
        """Messages ready or unacknowledged, by queue name."""
        listing = subprocess.run(
            self._ctl("list_queues", "name", "messages", "--no-table-headers"),
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        depths = {}
        for line in listing.splitlines():
            name, _, count = line.rpartition("\t")
            if name:
                depths[name] = int(count)
        return depths

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        subprocess.run(self._ctl("stop"), capture_output=True, timeout=60)
        try:
            self.popen.wait(15)
        except subprocess.TimeoutExpired:
            _end_group(self.popen)

    def _ctl(self, *args: str) -> list[str]:
        return ["rabbitmqctl", "-q", "-n", self.node, *args]
