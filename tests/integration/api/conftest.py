"""Fixtures for the API contract tests: customers with their own tokens, and the worker in process."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

import pytest

from tests.integration.api import support
from tests.integration.api.support import Customer


@pytest.fixture
def customer(api_client_for) -> Callable[..., Customer]:
    """`customer("alice")` or `customer("olive", roles=("ops",))`: a user no other test has seen."""

    def make(name: str = "user", roles: Iterable[str] = (), *, sub: str | None = None) -> Customer:
        sub = sub or f"{name}-{uuid.uuid4()}"
        return Customer(sub=sub, client=api_client_for(sub, roles=tuple(roles)))

    return make


@pytest.fixture
def alice(customer) -> Customer:
    return customer("alice")


@pytest.fixture
def bob(customer) -> Customer:
    return customer("bob")


@pytest.fixture
def ops(customer) -> Customer:
    return customer("olive", roles=("ops",))


@pytest.fixture
def apply_pending() -> Callable[[], object]:
    """Applies every pending event as the worker would, without RabbitMQ."""
    return support.apply_pending
