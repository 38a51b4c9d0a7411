"""The wire names of events: the contract's routing keys, with a shard suffix when there are shards."""

from __future__ import annotations

from messaging.schema import routing_key
from transfers.domain.model import EventType


def test_each_event_type_has_the_contracts_routing_key():
    assert {kind: routing_key(kind, 0, 1) for kind in EventType} == {
        EventType.DEPOSIT: "account.deposit",
        EventType.WITHDRAWAL: "account.withdraw",
        EventType.TRANSFER: "account.transfer",
        EventType.REVERSAL: "account.reversal",
    }


def test_with_several_shards_the_key_names_the_shard():
    assert routing_key(EventType.WITHDRAWAL, 3, 4) == "account.withdraw.3"
