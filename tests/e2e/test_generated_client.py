"""A client generated from the OpenAPI document (openapi-python-client) compiles, and moves money:
what a client developer gets from /api/schema/ works as it is, without hand edits."""

from __future__ import annotations

import compileall
import importlib
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

GENERATOR = Path(sys.executable).with_name("openapi-python-client")


@pytest.fixture
def remit_client(system, tmp_path):
    """The package `remit_client`, generated into the test's temporary folder from the live schema."""
    schema = tmp_path / "schema.json"
    schema.write_text(requests.get(f"{system.base_url}/api/schema/?format=json", timeout=10).text)
    config = tmp_path / "generator.yaml"
    config.write_text("post_hooks: []\n")
    generated = subprocess.run(
        [GENERATOR, "generate", "--path", schema, "--output-path", tmp_path / "remit_client",
         "--meta", "none", "--config", config],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Warning" not in generated.stdout, generated.stdout
    assert compileall.compile_dir(tmp_path / "remit_client", quiet=1)
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("remit_client")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "remit_client" or m.startswith("remit_client.")]:
            del sys.modules[name]


def test_a_generated_client_opens_accounts_and_makes_a_transfer_end_to_end(
    remit_client, system, oidc_issuer
) -> None:
    from remit_client.api.v1 import deposit, get_account, get_event, list_entries, open_account, transfer
    from remit_client.models import (
        CashMovementRequest,
        CurrencyEnum,
        Event,
        OpenAccountRequest,
        TransferRequest,
    )

    def client_of(name: str):
        token = oidc_issuer.token(f"{name}-{uuid.uuid4()}")
        return remit_client.AuthenticatedClient(
            base_url=system.base_url, token=token, raise_on_unexpected_status=True
        )

    alice, bob = client_of("alice"), client_of("bob")
    source = open_account.sync(client=alice, body=OpenAccountRequest(currency=CurrencyEnum.USD))
    target = open_account.sync(client=bob, body=OpenAccountRequest(currency=CurrencyEnum.USD))
    funded = deposit.sync_detailed(
        source.id, client=alice, body=CashMovementRequest(amount="100.00"), prefer="wait=5"
    )
    moved = transfer.sync_detailed(
        client=alice,
        body=TransferRequest(from_account=source.id, to_account=target.id, amount="30.5", memo="rent"),
        idempotency_key=f'"order-{uuid.uuid4()}"',
        prefer="wait=5",
    )
    read_back = get_event.sync(moved.parsed.event_id, client=alice)
    entries = list_entries.sync(target.id, client=bob, cursor="")

    assert (funded.status_code, funded.parsed.status.value) == (200, "completed")
    assert moved.status_code == 200, "the worker finishes well within the 5 s wait"
    assert isinstance(moved.parsed, Event)
    assert moved.headers["Location"] == f"/api/v1/events/{moved.parsed.event_id}"
    assert moved.headers["Preference-Applied"] == "wait=5"
    assert (read_back.status.value, read_back.amount, read_back.to_account) == (
        "completed",
        "30.50",
        target.id,
    )
    assert get_account.sync(source.id, client=alice).balance == "69.50"
    assert get_account.sync(target.id, client=bob).balance == "30.50"
    assert [(e.type_.value, e.amount, e.counterparty) for e in entries.results] == [
        ("transfer_in", "30.50", source.id)
    ]
