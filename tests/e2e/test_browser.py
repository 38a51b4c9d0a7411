"""The frontend in a real browser: headless Chromium signs in as alice at the dev identity provider
(authorization code with PKCE), transfers to bob and sees it completed without a reload.

Screenshots go to test-output/browser/{waiting,busy}/ (gitignored). Needs /usr/bin/chromium and the
npm packages of frontend/ and deploy/dev-idp/, which scripts/test installs."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from tests.e2e.conftest import running_system
from tests.support.api import wait_until_final
from tests.support.processes import ROOT, Process, child_environment, free_port

SCREENSHOTS = ROOT / "test-output" / "browser"
CHROMIUM = Path("/usr/bin/chromium")


def _wait_for(url: str, process: Process, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited early:\n{process.log()}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{process.name} did not answer {url}:\n{process.log()}")


@pytest.fixture(scope="module", params=["waiting", "busy"])
def web(request, django_db_setup, tmp_path_factory):
    """The dev identity provider, the API and worker, and the frontend, each on a port of its own.

    `waiting`: the API lets requests wait (Prefer: wait), so the transfer's POST answers 200 with the
    final event. `busy`: no room for waiters (EVENT_WAITERS_PER_PROCESS=0), so the POST answers 202
    and the page follows Location, with ETag and If-None-Match, until the event is final."""
    for needed in (CHROMIUM, ROOT / "frontend/node_modules", ROOT / "deploy/dev-idp/node_modules"):
        assert needed.exists(), f"{needed} is missing: scripts/test installs it"
    logs = tmp_path_factory.mktemp("browser")
    idp_port, web_port = free_port(), free_port()
    web_url = f"http://127.0.0.1:{web_port}"
    issuer = f"http://127.0.0.1:{idp_port}/realms/remit"
    idp = Process(
        "dev-idp",
        ["node", "deploy/dev-idp/server.js"],
        child_environment(DEV_IDP_PORT=str(idp_port), DEV_IDP_WEB_REDIRECT_URIS=f"{web_url}/"),
        logs,
    )
    idp.start()
    try:
        _wait_for(f"{issuer}/.well-known/openid-configuration", idp)
        waiters = "4" if request.param == "waiting" else "0"
        with running_system(
            SimpleNamespace(issuer=issuer),
            logs,
            CORS_ALLOWED_ORIGINS=web_url,
            EVENT_WAITERS_PER_PROCESS=waiters,
        ) as system:
            frontend = Process(
                "frontend",
                ["node", "frontend/node_modules/vite/bin/vite.js", "frontend", "--host", "127.0.0.1",
                 "--port", str(web_port), "--strictPort"],
                child_environment(VITE_API_URL=system.base_url, VITE_OIDC_ISSUER=issuer),
                logs,
            )  # fmt: skip
            frontend.start()
            try:
                _wait_for(web_url, frontend)
                yield SimpleNamespace(url=web_url, api=system.base_url, issuer=issuer, mode=request.param)
            finally:
                frontend.stop()
    finally:
        idp.stop()


def _session(web, username: str) -> requests.Session:
    """A user of the dev identity provider, signed in with a password (for the test's own set-up)."""
    token = requests.post(
        f"{web.issuer}/protocol/openid-connect/token",
        data={"grant_type": "password", "client_id": "remit-api", "username": username, "password": username},
        timeout=10,
    ).json()["access_token"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def test_alice_signs_in_transfers_to_bob_and_sees_it_completed_without_reloading(web) -> None:
    alice, bob = _session(web, "alice"), _session(web, "bob")
    source = alice.post(f"{web.api}/api/v1/accounts", json={"currency": "USD"}, timeout=10).json()
    target = bob.post(f"{web.api}/api/v1/accounts", json={"currency": "USD"}, timeout=10).json()
    funded = alice.post(
        f"{web.api}/api/v1/accounts/{source['id']}/deposits", json={"amount": "100.00"}, timeout=10
    )
    wait_until_final([funded.json()["event_id"]])
    screenshots = SCREENSHOTS / web.mode
    shutil.rmtree(screenshots, ignore_errors=True)

    run = subprocess.run(
        ["node", "frontend/tests/browser.mjs"],
        cwd=ROOT,
        env=child_environment(
            WEB_URL=web.url,
            FROM_ACCOUNT=source["id"],
            TO_ACCOUNT=target["id"],
            SCREENSHOTS=str(screenshots),
            **({"EXPECT_EVENT_READS": "1"} if web.mode == "busy" else {}),
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert run.returncode == 0, run.stdout + run.stderr
    print(run.stdout)
    assert {p.name for p in screenshots.iterdir()} == {"1-sign-in.png", "2-accounts.png", "3-completed.png"}
    assert bob.get(f"{web.api}/api/v1/accounts/{target['id']}", timeout=10).json()["balance"] == "30.00"
    assert alice.get(f"{web.api}/api/v1/accounts/{source['id']}", timeout=10).json()["balance"] == "70.00"
