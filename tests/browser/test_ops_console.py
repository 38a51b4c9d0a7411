"""An ops person's day in the admin, in headless Chromium: find a customer, read the account, freeze
it, request a reversal; a second ops person approves it; the reversal shows in both ledgers and in
the audit record. Each page is saved as a screenshot under test-output/ops-console/."""

from __future__ import annotations

import time

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from ledger.reconciliation import reconcile


class Page:
    """One person's browser on the admin."""

    def __init__(self, driver, console, who: str) -> None:
        self.driver, self.console, self.who = driver, console, who
        self.shots = 0

    def open(self, path: str) -> None:
        self.driver.get(self.console.base_url + path)

    def find(self, css: str):
        return WebDriverWait(self.driver, 10).until(ready.presence_of_element_located((By.CSS_SELECTOR, css)))

    def text(self, css: str) -> str:
        return self.find(css).text

    def texts(self, css: str) -> list[str]:
        return [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, css)]

    def body(self) -> str:
        return self.find("body").text

    def screenshot(self, number: int, name: str) -> None:
        self.driver.save_screenshot(str(self.console.output / f"{number:02d}-{self.who}-{name}.png"))

    def sign_in(self) -> None:
        """Through the dev identity provider's login form, as a person would."""
        self.open("/admin/")
        self.find("#username").send_keys(self.who)
        self.find("#password").send_keys(self.who)
        self.find("#kc-login").click()
        WebDriverWait(self.driver, 10).until(ready.presence_of_element_located((By.ID, "ops-links")))

    def submit(self, form_css: str, reason: str) -> None:
        form = self.find(form_css)
        form.find_element(By.NAME, "reason").send_keys(reason)
        form.find_element(By.CSS_SELECTOR, "button").click()
        # The old page may carry a message list too: wait until it is gone before reading the new one.
        WebDriverWait(self.driver, 10).until(ready.staleness_of(form))
        self.find("ul.messagelist")


def _has(text: str, *parts: str) -> bool:
    return all(part in text for part in parts)


def _api(console, username: str):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {console.token(username)}"
    return session


def _wait_final(session, base_url: str, event_id: str) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        event = session.get(f"{base_url}/api/v1/events/{event_id}", timeout=5).json()
        if event["status"] != "pending":
            return event
        time.sleep(0.2)
    raise AssertionError(f"event {event_id} still pending")


def test_freeze_and_a_four_eyes_reversal_in_the_ops_console(console, browser) -> None:
    base = console.base_url
    alice, bob = _api(console, "alice"), _api(console, "bob")
    source = alice.post(f"{base}/api/v1/accounts", json={"currency": "USD"}, timeout=5).json()
    target = bob.post(f"{base}/api/v1/accounts", json={"currency": "USD"}, timeout=5).json()
    deposit = alice.post(
        f"{base}/api/v1/accounts/{source['id']}/deposits", json={"amount": "2500.00"}, timeout=5
    )
    transfer = alice.post(
        f"{base}/api/v1/transfers",
        json={"from_account": source["id"], "to_account": target["id"], "amount": "300.00", "memo": "rent"},
        timeout=5,
    ).json()
    assert _wait_final(alice, base, deposit.json()["event_id"])["status"] == "completed"
    assert _wait_final(alice, base, transfer["event_id"])["status"] == "completed"

    olga = Page(browser(), console, "olga")
    olga.sign_in()
    assert "welcome, olga" in olga.body().lower()
    olga.screenshot(1, "admin-index")

    # Find the customer by username.
    olga.open("/admin/accounts/account/?q=alice")
    rows = olga.texts("#result_list tbody tr")
    assert any(source["id"] in row and "alice" in row and "2,200.00 USD" in row for row in rows), rows
    olga.screenshot(2, "accounts-search-alice")

    # The account page, as a person reads it.
    olga.driver.find_element(By.LINK_TEXT, source["id"]).click()
    assert olga.text("#account-status") == "active"
    assert olga.text("#balance") == "2,200.00 USD"
    assert olga.text("#available") == "2,200.00 USD"
    assert olga.text("#daily-limit") == "5,000.00 USD"
    assert (olga.text("#used-today"), olga.text("#remaining-today")) == ("300.00 USD", "4,700.00 USD")
    assert "alice" in olga.text("#account-summary")
    ledger = olga.texts("#ledger tr.ledger-entry")
    assert _has(ledger[0], "transfer_out", "-300.00 USD", "2,200.00 USD"), ledger
    assert _has(ledger[1], "deposit", "2,500.00 USD"), ledger
    assert "KST (UTC+09:00)" in ledger[0]
    assert olga.find("#balance-chart polyline").get_attribute("points")
    olga.screenshot(3, "account-page")

    # Freeze it with a reason: the customer's movements are refused.
    olga.submit("#freeze-form", "customer reports a stolen card")
    assert olga.text("#account-status") == "frozen"
    assert "Account frozen." in olga.text("ul.messagelist")
    refused = alice.post(
        f"{base}/api/v1/accounts/{source['id']}/withdrawals", json={"amount": "1.00"}, timeout=5
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "account_frozen")
    olga.screenshot(4, "account-frozen")

    # The transfer's page, from its ledger line; request its reversal.
    olga.find("#ledger tr.ledger-entry td:nth-child(6) a").click()
    assert olga.text("#event-type") == "transfer"
    assert len(olga.texts("#journal-entries tr.journal-entry")) == 2
    olga.screenshot(5, "transfer-event")
    olga.submit("#reversal-form", "paid to the wrong account")
    assert olga.text("tr.reversal-request .reversal-status") == "awaiting_approval"
    olga.screenshot(6, "reversal-requested")
    olga.submit("tr.reversal-request form.approve-form", "approving my own")  # four eyes: refused
    assert "Refused (forbidden)" in olga.text("ul.messagelist")
    assert olga.text("tr.reversal-request .reversal-status") == "awaiting_approval"
    olga.screenshot(7, "own-approval-refused")
    event_url = olga.driver.current_url

    # A second ops person approves it; the worker applies the reversal.
    oscar = Page(browser(), console, "oscar")
    oscar.sign_in()
    oscar.driver.get(event_url)
    oscar.submit("tr.reversal-request form.approve-form", "checked with the customer")
    assert "Reversal approved" in oscar.text("ul.messagelist")
    reversal_id = (
        oscar.find("tr.reversal-request td:nth-child(8) a").get_attribute("href").rstrip("/").split("/")[-2]
    )
    assert _wait_final(_api(console, "oscar"), base, reversal_id)["status"] == "completed"
    oscar.driver.refresh()
    assert "completed" in oscar.text("tr.reversal-request td:nth-child(8)")
    assert oscar.text("tr.reversal-request .reversal-status") == "approved"
    oscar.screenshot(8, "reversal-approved")

    # The reversal in both ledgers.
    oscar.open(f"/admin/accounts/account/{source['id']}/change/")
    first = oscar.texts("#ledger tr.ledger-entry")[0]
    assert _has(first, "reversal", "300.00 USD", "2,500.00 USD"), first
    assert oscar.text("#balance") == "2,500.00 USD"
    oscar.screenshot(9, "alice-ledger-reversed")
    oscar.open(f"/admin/accounts/account/{target['id']}/change/")
    first = oscar.texts("#ledger tr.ledger-entry")[0]
    assert _has(first, "reversal", "-300.00 USD", "0.00 USD"), first
    assert oscar.text("#balance") == "0.00 USD"
    oscar.screenshot(10, "bob-ledger-reversed")

    # The audit record: who did what, and why.
    oscar.open("/admin/transfers/auditrecord/")
    audit = oscar.texts("#result_list tbody tr")
    for actor, action, reason in [
        ("olga", "freeze", "customer reports a stolen card"),
        ("olga", "reversal_requested", "paid to the wrong account"),
        ("oscar", "reversal_approved", "checked with the customer"),
        ("olga", "read_account_page", ""),
    ]:
        assert any(actor in row and action in row and reason in row for row in audit), (actor, action, audit)
    oscar.screenshot(11, "audit-record")

    # The settlement position matches reconcile; nothing is stuck.
    oscar.open("/admin/ledger/entry/position/")
    oscar.screenshot(12, "settlement-position")
    positions = oscar.texts("#positions tbody tr")
    usd = [row for row in positions if row.startswith("USD")]
    assert usd, positions
    assert "2,500.00 USD" in usd[0], usd
    assert usd[0].endswith("yes"), usd
    oscar.open("/admin/messaging/outboxmessage/stuck/")
    assert "Pending for more than" in oscar.body()
    oscar.screenshot(13, "stuck-work")
    assert reconcile() == []
