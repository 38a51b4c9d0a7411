"""The operators' commands against the real database."""

from __future__ import annotations

import datetime as dt
import io
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import Account
from config import bootstrap
from messaging.models import OutboxMessage
from tests.support import bank
from transfers import services
from transfers.domain.model import Caller, EventType
from transfers.domain.money import Currency
from transfers.models import Event, IdempotencyRecord

pytestmark = pytest.mark.django_db


def test_purge_deletes_only_idempotency_keys_past_their_window():
    user = get_user_model().objects.create(username=f"user-{uuid.uuid4()}")
    old, _fresh = (
        IdempotencyRecord.objects.create(
            user=user, scope="POST /x", key=key, fingerprint="f", event_id=uuid.uuid4()
        )
        for key in ("old", "fresh")
    )
    IdempotencyRecord.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(hours=25))
    output = io.StringIO()

    call_command("purge_idempotency_keys", stdout=output)

    assert list(IdempotencyRecord.objects.filter(user=user).values_list("key", flat=True)) == ["fresh"]
    assert output.getvalue().startswith("1 expired")


def test_replay_queues_a_pending_event_again_and_leaves_final_ones_alone(owner_with_deposit):
    pending, completed = owner_with_deposit
    OutboxMessage.objects.all().delete()  # as if its message had been dead-lettered

    call_command("replay_events", str(pending), str(completed), stdout=io.StringIO())

    assert list(OutboxMessage.objects.values_list("event_id", flat=True)) == [pending]


def test_reconcile_passes_on_a_consistent_ledger_and_fails_naming_a_broken_invariant(owner_with_deposit):
    _, completed = owner_with_deposit
    output = io.StringIO()
    call_command("reconcile", stdout=output)
    account = Event.objects.get(event_id=completed).account_id
    Account.objects.filter(id=account).update(balance=1)  # a balance its journal does not explain

    broken = io.StringIO()
    with pytest.raises(CommandError, match=r"invariant\(s\) broken"):
        call_command("reconcile", stdout=broken)

    assert "BROKEN" not in output.getvalue()
    assert "BROKEN every balance equals the sum of its entries" in broken.getvalue()


@pytest.fixture
def owner_with_deposit():
    """One deposit applied (completed) and one accepted but not applied (pending)."""
    user = get_user_model().objects.create(username=f"user-{uuid.uuid4()}")
    caller = Caller(user_id=user.id)
    store, cache = bootstrap.acceptance_store(), bootstrap.limit_cache()
    account = services.open_account(caller=caller, currency=Currency.KRW, daily_limit=None, store=store)

    def deposit() -> uuid.UUID:
        return bank.accept(caller, EventType.DEPOSIT, account.id, "100")

    completed = deposit()
    services.apply_events(event_ids=[completed], ledger=bootstrap.ledger_store(), cache=cache)
    return deposit(), completed


def test_replaying_thousands_of_events_says_how_far_it_is_and_keeps_their_request_ids(owner_with_deposit):
    pending, _ = owner_with_deposit
    template = Event.objects.get(event_id=pending)
    Event.objects.filter(event_id=pending).update(request_id="req-first")
    Event.objects.bulk_create(
        Event(
            event_id=uuid.uuid4(),
            type=template.type,
            account_id=template.account_id,
            amount=1,
            currency=template.currency,
            business_date=template.business_date,
            requested_by_id=template.requested_by_id,
            created_at=template.created_at,
            request_id=f"req-{n}",
        )
        for n in range(1500)
    )
    OutboxMessage.objects.all().delete()
    progress = io.StringIO()

    call_command("replay_events", "--older-than", "0", stdout=io.StringIO(), stderr=progress)

    assert progress.getvalue().splitlines() == ["queued 1000/1501", "queued 1501/1501"]
    assert OutboxMessage.objects.count() == 1501
    assert OutboxMessage.objects.get(event_id=pending).headers["x-request-id"] == "req-first"
