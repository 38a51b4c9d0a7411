"""The admin as ops use it, in process: money-moving rows are read-only for everyone, pages show
money as people read it, and reading someone else's account is audited."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from accounts.models import Account
from ledger.chart import balance_points, balance_svg
from ledger.models import Entry
from tests.integration.api.support import apply_pending
from transfers.models import AuditRecord, Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def olga_admin() -> Client:
    client = Client()
    client.force_login(User.objects.create_user("olga-sub", is_staff=True, is_superuser=True))
    return client


def test_nobody_adds_changes_or_deletes_money_moving_rows_in_the_admin(alice, olga_admin) -> None:
    account = alice.funded_account("USD", "12.50")
    event = Event.objects.get(account_id=account["id"])
    entry = Entry.objects.filter(account_id=account["id"]).first()
    pages = [
        ("accounts/account", account["id"]),
        ("transfers/event", event.event_id),
        ("ledger/entry", entry.id),
        ("transfers/auditrecord", None),
        ("transfers/reversalrequest", None),
    ]
    for model, object_id in pages:
        assert olga_admin.get(f"/admin/{model}/add/").status_code == 403, model
        if object_id is not None:
            assert olga_admin.post(f"/admin/{model}/{object_id}/delete/").status_code == 403, model
            assert olga_admin.post(f"/admin/{model}/{object_id}/change/", {"balance": 1}).status_code in (
                200,
                403,
            )
    assert Account.objects.get(id=account["id"]).balance == 1250


def test_the_account_page_shows_major_units_the_ledger_and_the_chart_and_is_audited(
    alice, olga_admin
) -> None:
    account = alice.funded_account("USD", "2500.00")
    assert alice.withdraw(account["id"], "300.00").status_code == 202
    apply_pending()

    page = olga_admin.get(f"/admin/accounts/account/{account['id']}/change/")
    search = olga_admin.get("/admin/accounts/account/", {"q": account["id"]})

    html = page.content.decode()
    assert page.status_code == 200
    for shown in (
        "2,200.00 USD",
        "5,000.00 USD",
        "-300.00 USD",
        'id="balance-chart"',
        "UTC+09:00",
        "withdrawal",
    ):
        assert shown in html, shown
    assert account["id"] in search.content.decode()
    assert AuditRecord.objects.filter(object_id=account["id"], action="read_account_page").exists()


def test_the_chart_samples_the_journal_rather_than_reading_it(alice) -> None:
    account = alice.funded_account("KRW", "1000")
    for _ in range(5):
        assert alice.withdraw(account["id"], "100").status_code == 202
    apply_pending()

    every = balance_points(account["id"], samples=200)
    few = balance_points(account["id"], samples=2)

    assert [p.balance for p in every] == [1000, 900, 800, 700, 600, 500]
    assert len(few) == 3  # first, one between, last: never more than samples + 1
    assert (few[0].balance, few[-1].balance) == (1000, 500)
    assert "<polyline" in balance_svg(every, "KRW")


def test_every_ops_page_renders_and_links_what_it_names(alice, bob, ops, olga_admin) -> None:
    source, target = alice.funded_account("KRW", "5000"), bob.open_account("KRW")
    transfer = alice.transfer(source["id"], target["id"], "1000", memo="rent").json()
    apply_pending()
    request_id = ops.post(
        f"/api/v1/events/{transfer['event_id']}/reversal", {"reason": "wrong payee"}
    ).json()["id"]
    entry = Entry.objects.filter(transaction_id=transfer["event_id"]).first()
    owner = User.objects.get(username=alice.sub)
    record = AuditRecord.objects.first()
    pages = [
        "/admin/",
        "/admin/accounts/account/?q=" + source["id"],
        "/admin/accounts/account/?status__exact=active&currency__exact=KRW",
        f"/admin/accounts/account/{target['id']}/change/",
        "/admin/auth/user/?q=" + alice.sub,
        f"/admin/auth/user/{owner.pk}/change/",
        "/admin/transfers/event/?q=" + transfer["event_id"],
        "/admin/transfers/event/?q=rent&type__exact=transfer",
        f"/admin/transfers/event/{transfer['event_id']}/change/",
        "/admin/ledger/entry/?q=" + source["id"],
        f"/admin/ledger/entry/{entry.id}/change/",
        "/admin/ledger/entry/position/",
        "/admin/transfers/reversalrequest/?status__exact=awaiting_approval",
        f"/admin/transfers/reversalrequest/{request_id}/change/",
        "/admin/transfers/auditrecord/?action__exact=reversal_requested",
        f"/admin/transfers/auditrecord/{record.id}/change/",
        "/admin/messaging/outboxmessage/",
        "/admin/messaging/outboxmessage/stuck/?older_than=0",
    ]
    for page in pages:
        response = olga_admin.get(page, follow=True)
        assert response.status_code == 200, page
    event_page = olga_admin.get(f"/admin/transfers/event/{transfer['event_id']}/change/").content.decode()
    for linked in (
        f"/admin/accounts/account/{source['id']}/change/",
        f"/admin/accounts/account/{target['id']}/change/",
        f"/admin/transfers/reversalrequest/{request_id}/change/",
        f"/admin/ledger/entry/{entry.id}/change/",
        f"/admin/auth/user/{owner.pk}/change/",
    ):
        assert linked in event_page, linked
