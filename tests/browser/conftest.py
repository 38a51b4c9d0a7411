"""The whole system for a browser: the dev identity provider (node), the API under gunicorn and the
worker against the test database, and headless Chromium (Debian's) driven by Selenium."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.db import connection

from tests.conftest import NAMESPACE
from tests.support.processes import (
    ROOT,
    Process,
    api_process,
    child_environment,
    free_port,
    wait_until_ready,
    worker_process,
)

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
DEV_IDP = ROOT / "deploy" / "dev-idp"
# Screenshots go here (README: "Tests"); CI keeps the folder as the run's output.
OUTPUT = Path(os.environ.get("REMIT_TEST_OUTPUT", ROOT / "test-output")) / "ops-console"


@dataclass
class Console:
    base_url: str
    issuer: str
    output: Path

    def token(self, username: str) -> str:
        """A token of a dev identity provider user (each password is the username)."""
        response = requests.post(
            f"{self.issuer}/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": "remit-api",
                "username": username,
                "password": username,
            },
            timeout=5,
        )
        response.raise_for_status()
        return response.json()["access_token"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.path):
            item.add_marker(pytest.mark.django_db)


@pytest.fixture(scope="package")
def console(django_db_setup, rabbitmq_vhosts, tmp_path_factory) -> Iterator[Console]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail("Chromium is missing: scripts/test installs Debian's chromium and chromium-driver")
    if not (DEV_IDP / "node_modules").is_dir():
        subprocess.run(
            ["npm", "ci", "--silent", "--no-audit", "--no-fund"], cwd=DEV_IDP, check=True, timeout=300
        )
    logs = tmp_path_factory.mktemp("console")
    idp_port = free_port()
    issuer = f"http://127.0.0.1:{idp_port}/realms/remit"
    idp = Process(
        "dev-idp", ["node", str(DEV_IDP / "server.js")], child_environment(DEV_IDP_PORT=str(idp_port)), logs
    )
    database = connection.settings_dict  # pytest-django renamed it to the test database
    env = child_environment(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        OIDC_ISSUER=issuer,
        RABBITMQ_URL=f"amqp://guest:guest@127.0.0.1:5672/remit_e2e{NAMESPACE}",
    )
    api, base_url = api_process(env, logs)
    worker = worker_process(env, logs)
    idp.start()
    try:
        _wait(lambda: requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1).ok, idp)
        api.start()
        worker.start()
        wait_until_ready(base_url, api)
        shutil.rmtree(OUTPUT, ignore_errors=True)
        OUTPUT.mkdir(parents=True)
        yield Console(base_url, issuer, OUTPUT)
    finally:
        for process in (worker, api, idp):
            process.stop()


def _wait(ready: Callable[[], bool], process: Process, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except requests.RequestException:
            pass
        assert process.popen is not None
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited early:\n{process.log()}")
        time.sleep(0.2)
    raise RuntimeError(f"{process.name} did not become ready:\n{process.log()}")


@pytest.fixture
def browser() -> Iterator[Callable[[], object]]:
    """`browser()`: a new headless Chromium with a profile of its own (so a second person signs in)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    drivers = []

    def start():
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in (
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--window-size=1400,2000",
        ):
            options.add_argument(argument)
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.implicitly_wait(0)
        drivers.append(driver)
        return driver

    yield start
    for driver in drivers:
        driver.quit()
