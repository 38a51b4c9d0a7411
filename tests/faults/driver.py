"""The campaign's clients: a seeded stream of deposits, withdrawals and transfers, each retried as the
contract tells a client to, with every attempt and its answer recorded for the checker."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

# (connect, read) seconds: a request stuck on a blackholed database is given up on, as a client would.
TIMEOUT = (3, 12)
MAX_ATTEMPTS = 8
DIGITS = {"KRW": 0, "USD": 2}


@dataclass
class Attempt:
    """One HTTP request of an operation; `status` None means no answer reached the client."""

    sent: float
    answered: float
    keyed: bool
    status: int | None = None
    code: str | None = None
    event_id: str | None = None
    retry_after: float = 0.0  # what a 429 asked for


@dataclass
class Operation:
    """One thing a client wanted done, with every attempt it took; `reference` (a transfer's memo) is
    unique per operation, so the events it caused can be found."""

    index: int
    kind: str
    user: str
    account: str
    counterparty: str | None
    amount: str
    reference: str
    key: str | None
    attempts: list[Attempt] = field(default_factory=list)
    event_id: str | None = None
    known_at: float | None = None  # when the client learned its event exists: a 202, or read back
    replayed_ids: list[str] = field(default_factory=list)  # what repeats of an accepted keyed request named

    @property
    def sender(self) -> str:
        return self.account


@dataclass
class AccountPlan:
    id: str
    user: str
    currency: str
    daily_limit: int
    role: str = "customer"  # or "whale": huge deposits, to meet the 10^15 ceiling


@dataclass
class User:
    sub: str
    accounts: list[AccountPlan] = field(default_factory=list)


class Api:
    """The API as one user calls it: one HTTP session per user."""

    def __init__(self, base_url: str, mint: Callable[[str], str]) -> None:
        self.base_url = base_url
        self._mint = mint
        self._sessions: dict[str, requests.Session] = {}
        self._minted: dict[str, float] = {}
        self._lock = threading.Lock()

    def session(self, sub: str) -> requests.Session:
        with self._lock:
            session = self._sessions.get(sub)
            # Tokens last 300 s: a long soak mints new ones.
            if session is None or time.monotonic() - self._minted[sub] > 200:
                session = session or requests.Session()
                session.headers["Authorization"] = f"Bearer {self._mint(sub)}"
                self._sessions[sub] = session
                self._minted[sub] = time.monotonic()
            return session

    def post(self, sub: str, path: str, body: dict, headers: dict | None = None) -> requests.Response:
        return self.session(sub).post(f"{self.base_url}{path}", json=body, headers=headers, timeout=TIMEOUT)

    def get(self, sub: str, path: str) -> requests.Response:
        return self.session(sub).get(f"{self.base_url}{path}", timeout=TIMEOUT)


def open_accounts(api: Api, *, seed: int, users: int = 8) -> list[User]:
    """Users with two accounts each (six KRW users, two USD users), one KRW whale. Limits are high
    enough for a long run, except on one account in four, which meets its limit within minutes."""
    rng = random.Random(f"{seed}/accounts")
    people = []
    for number in range(users):
        currency = "USD" if number >= users - 2 else "KRW"
        high, low = ("100000000", "2000000") if currency == "KRW" else ("100000", "2000")
        user = User(sub=f"faults-{seed}-{number}")
        plans = [("customer", high), ("customer", low if rng.random() < 0.5 else high)]
        if number == 0:
            plans.append(("whale", high))
        for role, limit in plans:
            body = {"currency": currency, "daily_limit": limit}
            account = _until_created(lambda body=body, sub=user.sub: api.post(sub, "/api/v1/accounts", body))
            user.accounts.append(
                AccountPlan(
                    id=account["id"],
                    user=user.sub,
                    currency=currency,
                    daily_limit=_minor(account["daily_limit"], currency),
                    role=role,
                )
            )
        people.append(user)
    return people


def _until_created(call: Callable[[], requests.Response]) -> dict:
    for _ in range(20):
        try:
            response = call()
            if response.status_code == 201:
                return response.json()
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError("could not open the campaign's accounts")


def _minor(amount: str, currency: str) -> int:
    whole, _, fraction = amount.partition(".")
    return int(whole) * 10 ** DIGITS[currency] + int(fraction or 0)


def _amount(minor: int, currency: str, rng: random.Random) -> str:
    digits = DIGITS[currency]
    if digits == 0:
        return str(minor)
    text = f"{minor // 10**digits}.{minor % 10**digits:0{digits}d}"
    # "12.5" and "12.50" are the same amount: send both spellings.
    return text.rstrip("0").rstrip(".") if rng.random() < 0.2 and "." in text else text


class Driver:
    """`clients` threads, each sending its users' operations one after the other."""

    def __init__(self, api: Api, users: list[User], *, seed: int, clients: int, rate: float) -> None:
        self.api = api
        self.users = users
        self.seed = seed
        self.clients = clients
        self.rate = rate
        self.tag = uuid.uuid4().hex[:8]
        self.operations: list[Operation] = []
        self.in_flight = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._give_up_at = float("inf")
        self._threads: list[threading.Thread] = []
        self._next_index = 0
        self.by_currency: dict[str, list[AccountPlan]] = {}
        for user in users:
            for account in user.accounts:
                self.by_currency.setdefault(account.currency, []).append(account)

    def start(self) -> None:
        for number in range(self.clients):
            mine = [u for i, u in enumerate(self.users) if i % self.clients == number]
            thread = threading.Thread(target=self._client, args=(number, mine), name=f"client-{number}")
            thread.start()
            self._threads.append(thread)

    def stop(self, retry_for: float = 20) -> None:
        """No new operations; those under way may retry for `retry_for` seconds more."""
        self._give_up_at = time.monotonic() + retry_for
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _client(self, number: int, users: list[User]) -> None:
        rng = random.Random(f"{self.seed}/client/{number}")
        for user in users:  # everyone starts with money
            for account in user.accounts:
                if account.role == "customer":
                    amount = 1_000_000 if account.currency == "KRW" else 100_000
                    self._perform(self._operation(rng, "deposit", user, account, None, amount))
        pause = self.clients / self.rate
        while not self._stop.is_set():
            self._perform(self._next_operation(rng, users))
            self._stop.wait(rng.uniform(0, 2 * pause))

    def _next_operation(self, rng: random.Random, users: list[User]) -> Operation:
        user = rng.choice(users)
        account = rng.choice(user.accounts)
        krw = account.currency == "KRW"
        if account.role == "whale" and rng.random() < 0.3:
            # 10^15 KRW is the ceiling: the third of these deposits is rejected balance_limit_exceeded.
            return self._operation(rng, "deposit", user, account, None, rng.randrange(3, 6) * 10**14)
        choice = rng.random()
        if choice < 0.3:
            minor = rng.randrange(1, 400) * (1000 if krw else 100) + (0 if krw else rng.randrange(100))
            return self._operation(rng, "deposit", user, account, None, minor)
        if choice < 0.55:
            # Up to 500,000 KRW (500 USD) against balances of about a million: some overdraw.
            minor = rng.randrange(1, 500) * (1000 if krw else 100)
            return self._operation(rng, "withdrawal", user, account, None, minor)
        target = rng.choice([a for a in self.by_currency[account.currency] if a.id != account.id])
        minor = rng.randrange(1, 300) * (1000 if krw else 100)
        return self._operation(rng, "transfer", user, account, target, minor)

    def _operation(self, rng, kind, user, account, target, minor) -> Operation:
        with self._lock:
            index = self._next_index
            self._next_index += 1
        reference = f"{self.tag}-{index}"
        return Operation(
            index=index,
            kind=kind,
            user=user.sub,
            account=account.id,
            counterparty=target.id if target else None,
            amount=_amount(minor, account.currency, rng),
            reference=reference,
            key=f"key-{reference}" if rng.random() < 0.5 else None,
        )

    # One operation, retried as the contract says

    def _perform(self, op: Operation) -> None:
        with self._lock:
            self.operations.append(op)
        rng = random.Random(f"{self.seed}/retries/{op.index}")
        for number in range(MAX_ATTEMPTS):
            if number and time.monotonic() > self._give_up_at:
                return
            attempt = self._send(op)
            if attempt.status == 202:
                op.event_id, op.known_at = attempt.event_id, attempt.answered
                if op.key is not None and rng.random() < 0.1:
                    self._repeat(op)
                return
            if attempt.code == "outcome_unknown":
                if attempt.event_id and self._read_back(op, attempt.event_id):
                    return
                if op.key is None:
                    return  # never again without a key: it may have committed
            elif attempt.status is None or (attempt.status >= 500 and attempt.code != "service_unavailable"):
                if op.key is None:
                    return  # no answer: it may have committed, so only a keyed request is sent again
            elif attempt.status < 500 and attempt.status not in (409, 429):
                return  # refused; nothing happened
            pause = min(2.0, 0.2 * 2**number) * rng.uniform(0.5, 1.5)
            time.sleep(min(5.0, attempt.retry_after) if attempt.retry_after else pause)

    def _send(self, op: Operation) -> Attempt:
        if op.kind == "transfer":
            path = "/api/v1/transfers"
            body = {
                "from_account": op.account,
                "to_account": op.counterparty,
                "amount": op.amount,
                "memo": op.reference,
            }
        else:
            path = f"/api/v1/accounts/{op.account}/{op.kind}s"
            body = {"amount": op.amount, "reference": op.reference}
        headers = {"Idempotency-Key": op.key} if op.key else None
        attempt = Attempt(sent=time.time(), answered=0.0, keyed=op.key is not None)
        op.attempts.append(attempt)
        with self._lock:
            self.in_flight += 1
        try:
            response = self.api.post(op.user, path, body, headers)
        except requests.RequestException:
            attempt.answered = time.time()
            return attempt
        finally:
            with self._lock:
                self.in_flight -= 1
        attempt.answered = time.time()
        attempt.status = response.status_code
        if response.status_code == 429:
            attempt.retry_after = float(response.headers.get("Retry-After", "1"))
        document = _json(response)
        if response.status_code == 202:
            attempt.event_id = document.get("event_id")
        else:
            error = document.get("error", {}) if isinstance(document.get("error"), dict) else {}
            attempt.code = error.get("code")
            attempt.event_id = error.get("event_id") or document.get("event_id") or _event_in(response)
        return attempt

    def _repeat(self, op: Operation) -> None:
        """Send an accepted keyed request again, as a client unsure of the answer would: the same event."""
        attempt = self._send(op)
        if attempt.status == 202 and attempt.event_id:
            op.replayed_ids.append(attempt.event_id)

    def _read_back(self, op: Operation, event_id: str) -> bool:
        """After outcome_unknown, read the event's URL a few times: 200 means it was accepted."""
        for _ in range(5):
            try:
                response = self.api.get(op.user, f"/api/v1/events/{event_id}")
            except requests.RequestException:
                response = None
            if response is not None and response.status_code == 200:
                op.event_id, op.known_at = event_id, time.time()
                return True
            time.sleep(0.5)
        return False


def _json(response: requests.Response) -> dict:
    try:
        document = response.json()
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _event_in(response: requests.Response) -> str | None:
    location = response.headers.get("Location", "")
    if "/events/" not in location:
        return None
    return location.rstrip("/").rsplit("/", 1)[-1]
