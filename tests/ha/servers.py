"""The HA harness's servers: a three-node RabbitMQ cluster, and PostgreSQL 15 as a primary with a
synchronous standby managed by Patroni over a one-member etcd, all in one folder on free ports.

Nothing here touches the machine's own servers: each RabbitMQ node has its own name, ports, database
and logs (it shares only the Erlang cookie and epmd, as every node on a host does), and PostgreSQL
runs from its own data folders on its own ports and sockets.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import requests

from tests.faults.servers import PG_BIN, PrivateRabbitMQ, _as, _end_group, _owned_folder, _wait
from tests.support.processes import free_port

DATABASE = "remit"
# What a production cluster of three would set too: a node cut off from the other two pauses rather
# than serve a minority view of the queues.
RABBITMQ_SETTINGS = "cluster_partition_handling = pause_minority\n"


class RabbitNode(PrivateRabbitMQ):
    def ctl(self, *args: str, timeout: float = 120) -> str:
        return subprocess.run(
            self._ctl(*args), check=True, capture_output=True, text=True, timeout=timeout
        ).stdout

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the node's processes: it dies as in a crash; `start` brings it back."""
        _end_group(self.popen)


class RabbitCluster:
    """Three nodes joined with `rabbitmqctl join_cluster`; quorum queues declared afterwards get a
    member on each."""

    def __init__(self, root: Path, size: int = 3) -> None:
        self.nodes = [
            RabbitNode(root / f"rabbit-{n}", prefix=f"remit-ha-{n}", settings=RABBITMQ_SETTINGS)
            for n in range(1, size + 1)
        ]

    def url(self, first: int = 0) -> str:
        """RABBITMQ_URL naming every node, starting with node `first` (the one nearest a process)."""
        order = self.nodes[first:] + self.nodes[:first]
        return ",".join(node.url for node in order)

    def launch(self) -> None:
        """Start every node in the background (they boot while the rest is set up)."""
        for node in self.nodes:
            node.start()

    def form(self) -> None:
        """Wait for the nodes and join the second and third to the first."""
        for node in self.nodes:
            node.await_startup()
        seed = self.nodes[0]
        for node in self.nodes[1:]:
            node.ctl("stop_app")
            node.ctl("join_cluster", seed.node)  # our own first node, never the machine's
            node.ctl("start_app")
            node.await_startup()
        running = json.loads(seed.ctl("cluster_status", "--formatter", "json"))["running_nodes"]
        missing = [node.node for node in self.nodes if node.node not in running]
        if missing:
            raise RuntimeError(f"nodes not in the cluster: {missing}")

    def stop(self) -> None:
        for node in self.nodes:
            with contextlib.suppress(Exception):
                node.stop()
            _end_group(node.popen)

    def by_name(self, name: str) -> RabbitNode:
        return next(node for node in self.nodes if node.node == name)

    def any_running(self) -> RabbitNode:
        return next(node for node in self.nodes if node.running())

    def queues(self) -> dict[str, dict]:
        """Each quorum queue's leader and members, as a running node sees them."""
        listing = self.any_running().ctl(
            "list_queues", "name", "type", "leader", "members", "online", "messages", "--formatter", "json"
        )
        return {queue["name"]: queue for queue in json.loads(listing)}

    def node_of_connection(self, name: str) -> str | None:
        """The node a named client connection (messaging.connection.parameters) is on."""
        listing = self.any_running().ctl(
            "list_connections", "port", "client_properties", "--formatter", "json"
        )
        for connection in json.loads(listing):
            if name in json.dumps(connection.get("client_properties")):
                # Each node listens on its own port: the port the connection came in on names the node.
                return next(node.node for node in self.nodes if node.port == connection["port"])
        return None

    def queue_depths(self) -> dict[str, int]:
        return {name: int(queue.get("messages") or 0) for name, queue in self.queues().items()}


class Etcd:
    """A one-member etcd: Patroni's distributed configuration store (three members in production)."""

    def __init__(self, root: Path) -> None:
        self.folder = root / "etcd"
        self.port = free_port()
        self.peer_port = free_port()
        self.popen: subprocess.Popen | None = None

    def start(self) -> None:
        self.folder.mkdir(parents=True)
        peer = f"http://127.0.0.1:{self.peer_port}"
        client = f"http://127.0.0.1:{self.port}"
        argv = [
            "etcd",
            "--name=remit-ha",
            f"--data-dir={self.folder / 'data'}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=remit-ha={peer}",
        ]
        with open(self.folder / "etcd.log", "ab") as log:
            self.popen = subprocess.Popen(argv, stdout=log, stderr=log, start_new_session=True)
        _wait(self._answers, "etcd answering", 30)

    def _answers(self) -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{self.port}/health", timeout=1).ok
        except requests.RequestException:
            return False

    def stop(self) -> None:
        _end_group(self.popen)


class PatroniNode:
    """One PostgreSQL 15 server under Patroni, run as the postgres user."""

    def __init__(self, root: Path, name: str, *, scope: str, etcd: Etcd) -> None:
        self.name = name
        self.folder = root / name
        self.port = free_port()
        self.api_port = free_port()
        self.scope = scope
        self.etcd = etcd
        self.popen: subprocess.Popen | None = None

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def configuration(self) -> dict:
        return {
            "scope": self.scope,
            "namespace": "/remit-ha/",
            "name": self.name,
            "log": {"level": "INFO"},
            "restapi": {
                "listen": f"127.0.0.1:{self.api_port}",
                "connect_address": f"127.0.0.1:{self.api_port}",
            },
            "etcd3": {"host": f"127.0.0.1:{self.etcd.port}"},
            "bootstrap": {
                "dcs": {
                    # The leader key lives 10 s; each member looks every second. A primary whose
                    # PostgreSQL crashed hands over at once (primary_start_timeout 0) rather than
                    # restart in place: the synchronous standby holds every acknowledged commit.
                    "ttl": 10,
                    "loop_wait": 1,
                    "retry_timeout": 4,
                    "primary_start_timeout": 0,
                    "synchronous_mode": True,
                    "maximum_lag_on_failover": 1048576,
                    "postgresql": {
                        "use_pg_rewind": True,
                        "use_slots": True,
                        "parameters": {
                            "synchronous_commit": "on",
                            "wal_log_hints": "on",
                            "max_wal_senders": 10,
                            "max_replication_slots": 10,
                            "hot_standby": "on",
                        },
                    },
                },
                "initdb": [{"encoding": "UTF8"}, {"username": "postgres"}],
            },
            "postgresql": {
                "listen": f"127.0.0.1:{self.port}",
                "connect_address": f"127.0.0.1:{self.port}",
                "data_dir": str(self.data),
                "bin_dir": str(PG_BIN),
                "pgpass": str(self.folder / "pgpass"),
                "authentication": {
                    "superuser": {"username": "postgres"},
                    "replication": {"username": "replicator"},
                },
                "parameters": {"unix_socket_directories": str(self.folder)},
                # A new standby copies the primary at once, not after a spread checkpoint (minutes).
                "basebackup": [{"checkpoint": "fast"}],
                "pg_hba": [
                    "local all all trust",
                    "host all all 127.0.0.1/32 trust",
                    "host replication all 127.0.0.1/32 trust",
                ],
            },
        }

    def start(self) -> None:
        _owned_folder(self.folder, "postgres")
        self.folder.chmod(0o700)
        settings = self.folder / "patroni.yml"
        settings.write_text(json.dumps(self.configuration(), indent=1))  # JSON is YAML
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": str(self.folder)}
        log = open(self.folder.parent / f"{self.name}.log", "ab")  # noqa: SIM115 - the child owns it
        self.popen = subprocess.Popen(
            [*_as("postgres"), "/usr/bin/patroni", str(settings)],
            cwd=self.folder,  # its own: the checkout may be a folder postgres cannot enter (mktemp -d)
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )

    def stop(self) -> None:
        """Patroni stops its PostgreSQL on SIGTERM; whatever is left is stopped immediately."""
        if self.popen is not None and self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                _end_group(self.popen)
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                [*_as("postgres"), str(PG_BIN / "pg_ctl"), "stop", "-D", str(self.data), "-m", "immediate"],
                cwd=self.folder,
                capture_output=True,
                timeout=60,
            )

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def state(self) -> dict:
        """Patroni's view of this member (role, state, timeline), {} if its API does not answer."""
        try:
            return requests.get(f"http://127.0.0.1:{self.api_port}/patroni", timeout=1).json()
        except (requests.RequestException, ValueError):
            return {}

    def connect(self, database: str = DATABASE) -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user="postgres",
            dbname=database,
            autocommit=True,
            connect_timeout=3,
        )


class PatroniPair:
    """A primary and a synchronous standby; Patroni elects, promotes and rejoins with pg_rewind."""

    def __init__(self, root: Path, etcd: Etcd) -> None:
        scope = f"remit-ha-{os.getpid()}"
        self.members = [PatroniNode(root, name, scope=scope, etcd=etcd) for name in ("pg1", "pg2")]

    @property
    def url(self) -> str:
        """The multi-host DATABASE_URL every process uses (read-write is implied by several hosts)."""
        hosts = ",".join(f"127.0.0.1:{m.port}" for m in self.members)
        return f"postgres://postgres@{hosts}/{DATABASE}"

    def start(self) -> None:
        first, second = self.members
        first.start()
        _wait(lambda: self.leader() is first, "the first PostgreSQL leading", 90)
        with first.connect("postgres") as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        second.start()
        self.wait_for_sync_standby(90)

    def stop(self) -> None:
        for member in self.members:
            member.stop()

    def cluster(self) -> list[dict]:
        for member in self.members:
            try:
                response = requests.get(f"http://127.0.0.1:{member.api_port}/cluster", timeout=1)
                return response.json().get("members", [])
            except (requests.RequestException, ValueError):
                continue
        return []

    def _with_role(self, role: str) -> PatroniNode | None:
        names = {m["name"] for m in self.cluster() if m.get("role") == role}
        return next((member for member in self.members if member.name in names), None)

    def leader(self) -> PatroniNode | None:
        """The member Patroni made primary, once PostgreSQL there takes writes."""
        member = self._with_role("leader")
        if member is None or member.state().get("role") not in ("master", "primary"):
            return None
        return member

    def sync_standby(self) -> PatroniNode | None:
        member = self._with_role("sync_standby")
        if member is None or member.state().get("state") != "running":
            return None
        return member

    def wait_for_sync_standby(self, timeout: float) -> PatroniNode:
        _wait(lambda: self.leader() and self.sync_standby(), "a primary with a synchronous standby", timeout)
        return self.sync_standby()

    def set_synchronous(self, on: bool) -> None:
        """Turn Patroni's synchronous mode on or off (dynamic configuration, applied within a loop)."""
        member = self.members[0]
        response = requests.patch(
            f"http://127.0.0.1:{member.api_port}/config", json={"synchronous_mode": on}, timeout=5
        )
        response.raise_for_status()
        expected = "" if not on else None

        def applied() -> bool:
            leader = self.leader()
            if leader is None:
                return False
            with leader.connect() as conn:
                names = conn.execute("SHOW synchronous_standby_names").fetchone()[0]
            return names == "" if expected == "" else names != ""

        _wait(applied, f"synchronous mode {'on' if on else 'off'}", 30)
        time.sleep(0.5)
