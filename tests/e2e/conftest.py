"""End-to-end fixtures: the API under gunicorn and the worker, against the test database."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from django.db import connection

from tests.conftest import NAMESPACE
from tests.support.api import ApiUser
from tests.support.oidc_issuer import LoopbackIssuer
from tests.support.processes import Process, api_process, child_environment, wait_until_ready, worker_process


@dataclass
class RunningSystem:
    base_url: str
    api: Process
    worker: Process
    env: dict[str, str]
    workers: list[Process]


@pytest.fixture(scope="session", autouse=True)
def _vhosts(rabbitmq_vhosts) -> None:
    """Every end-to-end system runs on its own vhost."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every end-to-end test reads the test database, which the child processes write."""
    for item in items:
        if "tests/e2e/" in str(item.path) and not item.get_closest_marker("restarts_postgresql"):
            item.add_marker(pytest.mark.django_db)


@contextmanager
def running_system(
    issuer: LoopbackIssuer, logs, *, shards: int = 1, vhost: str = f"remit_e2e{NAMESPACE}", **settings: str
):
    """The API and one worker per shard, against the test database; `settings` are more variables."""
    database = connection.settings_dict  # pytest-django renamed it to the test database
    env = child_environment(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        OIDC_ISSUER=issuer.issuer,
        RABBITMQ_URL=f"amqp://guest:guest@127.0.0.1:5672/{vhost}",
        ACCOUNT_EVENT_SHARDS=str(shards),
        **settings,
    )
    api, base_url = api_process(env, logs)
    workers = [worker_process(env, logs, shard=s, name=f"worker-{s}") for s in range(shards)]
    api.start()
    for worker in workers:
        worker.start()
    try:
        wait_until_ready(base_url, api)
        yield RunningSystem(base_url, api, workers[0], env, workers)
    finally:
        for worker in workers:
            worker.stop()
        api.stop()


@pytest.fixture(scope="package")
def system(django_db_setup, oidc_issuer: LoopbackIssuer, tmp_path_factory) -> Iterator[RunningSystem]:
    with running_system(oidc_issuer, tmp_path_factory.mktemp("processes")) as running:
        yield running


@pytest.fixture
def new_user(system: RunningSystem, oidc_issuer: LoopbackIssuer) -> Callable[..., ApiUser]:
    """`new_user()` or `new_user(roles=("ops",))`: a user no other test has seen."""

    def make(roles: tuple[str, ...] = ()) -> ApiUser:
        return ApiUser(system.base_url, oidc_issuer.token(f"user-{uuid.uuid4()}", roles))

    return make


@pytest.fixture
def restartable_worker(system: RunningSystem) -> Iterator[RunningSystem]:
    """The system, with the worker running again after the test whatever the test did to it."""
    yield system
    if system.worker.popen is None or system.worker.popen.poll() is not None:
        system.worker.start()
