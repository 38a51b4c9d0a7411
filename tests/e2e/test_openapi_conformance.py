"""The OpenAPI document against the live API: schemathesis drives every operation (examples,
coverage, fuzzing, and stateful sequences along the links it infers) under gunicorn with the worker,
with real tokens, and finds no 5xx, no undocumented status or header, no body off the schema.

Settings are in schemathesis.toml beside this file; the run's log and reports are kept in the test's
temporary folder (`st replay <id>` reproduces a failure it names)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.e2e.conftest import running_system
from tests.support.api import ApiUser

ST = Path(sys.executable).with_name("st")
CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.fixture(scope="module")
def conformance_system(django_db_setup, oidc_issuer, tmp_path_factory):
    """A system of its own: throttled high enough that schemathesis reaches past 429, and with DEBUG
    off, as in production (with it on, an unknown route answers Django's HTML page)."""
    with running_system(
        oidc_issuer, tmp_path_factory.mktemp("processes"), THROTTLE_USER_RATE="1000000/minute", DEBUG="false"
    ) as running:
        yield running


def test_schemathesis_finds_no_server_error_undocumented_status_or_schema_break(
    conformance_system, oidc_issuer, tmp_path
) -> None:
    token = oidc_issuer.token(f"fuzz-{uuid.uuid4()}", exp=int(time.time()) + 3600)
    user = ApiUser(conformance_system.base_url, token)
    source, target = user.open_account("USD"), user.open_account("USD")
    assert user.deposit(source["id"], "1000.00").status_code == 202
    reports = tmp_path / "schemathesis"

    run = subprocess.run(
        [
            str(ST), "--config-file", str(CONFIG), "run", f"{conformance_system.base_url}/api/schema/",
            "--header", f"Authorization: Bearer {token}",
            "--checks", "all",
            "--max-examples", "30",
            "--seed", "1",
            # One worker: with two threads, CPython 3.11.7's ast.parse (hypothesis describing a
            # strategy's lambda) can fail with "AST constructor recursion depth mismatch".
            "--workers", "1",
            "--request-timeout", "15",
            "--report", "json,junit", "--report-dir", str(reports),
        ],
        env={**os.environ, "REMIT_FUZZ_FROM_ACCOUNT": source["id"], "REMIT_FUZZ_TO_ACCOUNT": target["id"]},
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip

    (tmp_path / "schemathesis.log").write_text(run.stdout + run.stderr)
    report = json.loads(next(reports.glob("json-*.json")).read_text())
    print(
        f"schemathesis: {report['operations']['tested']} operations, "
        f"{report['test_cases']['generated']} cases, {report['test_cases']['unique_failures']} failures"
    )
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-3000:]
    assert report["operations"]["tested"] == report["operations"]["total"] >= 10
    assert {name: phase["status"] for name, phase in report["phases"].items()} == dict.fromkeys(
        ("examples", "coverage", "fuzzing", "stateful"), "success"
    )
    assert report["failures"] == []
    assert report["errors"] == []
