"""The API under gunicorn, its database behind a proxy that loses replies: no 503 for what committed.

A reply lost after PostgreSQL ran the statement looks to the API like any broken connection; the
contract says `service_unavailable` only when nothing was committed, and `outcome_unknown` (with
the event's id and Location) when the API cannot tell.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import requests
from django.db import connection

from tests.support.oidc_issuer import LoopbackIssuer
from tests.support.processes import api_process, child_environment, wait_until_ready
from tests.support.proxy import TcpProxy
from transfers.models import Event

DEPOSITS = 300
DROP_PROBABILITY = 0.04  # per chunk the API sends to PostgreSQL
MAX_ATTEMPTS = 30
ANSWERS = {"202", "503 service_unavailable", "503 outcome_unknown", "409 idempotency_in_progress"}


@dataclass
class Api:
    base_url: str
    proxy: TcpProxy
    headers: dict[str, str]
    account_id: str


@dataclass
class Deposit:
    reference: str
    key: str | None
    answers: list[requests.Response] = field(default_factory=list)

    @property
    def last(self) -> requests.Response:
        return self.answers[-1]


@pytest.fixture(scope="module")
def api_behind_proxy(django_db_setup, oidc_issuer: LoopbackIssuer, tmp_path_factory) -> Iterator[Api]:
    database = connection.settings_dict  # pytest-django renamed it to the test database
    with TcpProxy(database["HOST"] or "127.0.0.1", int(database["PORT"] or 5432), seed=20261125) as proxy:
        env = child_environment(
            DJANGO_SETTINGS_MODULE="config.settings.test",
            DATABASE_URL=f"postgres://{database['USER']}@127.0.0.1:{proxy.port}/{database['NAME']}",
            OIDC_ISSUER=oidc_issuer.issuer,
        )
        api, base_url = api_process(env, tmp_path_factory.mktemp("in-doubt"))
        api.start()
        try:
            wait_until_ready(base_url, api)
            headers = {"Authorization": f"Bearer {oidc_issuer.token(f'user-{uuid.uuid4()}', ())}"}
            opened = requests.post(
                f"{base_url}/api/v1/accounts", json={"currency": "KRW"}, headers=headers, timeout=30
            )
            assert opened.status_code == 201, opened.text
            yield Api(base_url, proxy, headers, opened.json()["id"])
        finally:
            api.stop()


def _post(api: Api, deposit: Deposit) -> requests.Response:
    headers = dict(api.headers)
    if deposit.key is not None:
        headers["Idempotency-Key"] = deposit.key
    answer = requests.post(
        f"{api.base_url}/api/v1/accounts/{api.account_id}/deposits",
        json={"amount": "1000", "reference": deposit.reference},
        headers=headers,
        timeout=30,
    )
    deposit.answers.append(answer)
    return answer


def _send(api: Api, deposit: Deposit) -> None:
    """Once without a key; with a key, again after every 503 (and 409) until it is accepted."""
    for _ in range(MAX_ATTEMPTS):
        answer = _post(api, deposit)
        if deposit.key is None or answer.status_code not in (409, 503):
            return
        time.sleep(0.05)


def _code(answer: requests.Response) -> str:
    return (
        str(answer.status_code)
        if answer.status_code < 400
        else f"{answer.status_code} {answer.json()['error']['code']}"
    )


def test_no_answer_says_service_unavailable_for_a_deposit_that_committed(api_behind_proxy: Api):
    api = api_behind_proxy
    deposits = [
        Deposit(reference=f"in-doubt-{n}", key=f"order-{uuid.uuid4()}" if n % 2 else None)
        for n in range(DEPOSITS)
    ]
    api.proxy.drop_replies(DROP_PROBABILITY)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda d: _send(api, d), deposits))
    api.proxy.heal()

    events = Counter(Event.objects.filter(account_id=api.account_id).values_list("reference", flat=True))
    ids = dict(Event.objects.filter(account_id=api.account_id).values_list("reference", "event_id"))
    answers = Counter(_code(a) for d in deposits for a in d.answers)
    print(
        f"\n{DEPOSITS} deposits, drop probability {DROP_PROBABILITY}: answers {dict(answers)};"
        f" replies dropped {api.proxy.counters['dropped_replies']}; events {sum(events.values())}"
    )

    assert api.proxy.counters["dropped_replies"] > 0
    wrong = [f"{d.reference}: {_code(a)}" for d in deposits for a in d.answers if _code(a) not in ANSWERS]
    for deposit in deposits:
        committed, last = events[deposit.reference], deposit.last
        if deposit.key is not None:
            if (
                last.status_code != 202
                or committed != 1
                or str(ids[deposit.reference]) != last.json()["event_id"]
            ):
                wrong.append(f"{deposit.reference}, retried with its key: {_code(last)}, {committed} events")
        elif last.status_code == 202:
            if committed != 1 or str(ids[deposit.reference]) != last.json()["event_id"]:
                wrong.append(f"{deposit.reference}: 202, {committed} events")
        elif _code(last) == "503 service_unavailable":
            if committed:
                wrong.append(f"{deposit.reference}: 503 service_unavailable, but it committed")
        else:
            wrong += _outcome_unknown_problems(api, deposit, committed, ids.get(deposit.reference))
    assert not wrong, f"{len(wrong)} wrong answers:\n" + "\n".join(wrong)


def test_a_database_lost_right_after_the_commit_gets_outcome_unknown_and_a_keyed_resend_one_event(
    api_behind_proxy: Api,
):
    api = api_behind_proxy
    # The reply to the chosen statement is lost and PostgreSQL stays unreachable until healed.
    api.proxy.on_drop = api.proxy.refuse_connections
    deposits = []
    try:
        for n in range(2):
            plain = Deposit(reference=f"lost-after-commit-{n}-{uuid.uuid4()}", key=None)
            api.proxy.drop_replies(1.0, containing=plain.reference.encode())
            _post(api, plain)
            api.proxy.heal()
            keyed = Deposit(reference=f"lost-after-commit-keyed-{n}", key=f"order-{uuid.uuid4()}")
            api.proxy.drop_replies(1.0, containing=b"COMMIT")
            _post(api, keyed)
            api.proxy.heal()
            _send(api, keyed)
            deposits += [plain, keyed]
    finally:
        api.proxy.on_drop = None
        api.proxy.heal()

    events = dict(Event.objects.filter(account_id=api.account_id).values_list("reference", "event_id"))
    for deposit in deposits:
        unknown = deposit.answers[0]
        assert _code(unknown) == "503 outcome_unknown", unknown.text
        event_id = unknown.json()["error"]["event_id"]
        assert unknown.headers["Location"] == f"/api/v1/events/{event_id}"
        # The statement (or COMMIT) whose reply was lost had run: the event exists, once.
        assert str(events[deposit.reference]) == event_id
        assert Event.objects.filter(reference=deposit.reference).count() == 1
        read = requests.get(f"{api.base_url}{unknown.headers['Location']}", headers=api.headers, timeout=30)
        assert read.json()["event_id"] == event_id
        if deposit.key is not None:
            assert deposit.last.status_code == 202
            assert deposit.last.json()["event_id"] == event_id


def _outcome_unknown_problems(
    api: Api, deposit: Deposit, committed: int, event_id: uuid.UUID | None
) -> list[str]:
    error = deposit.last.json()["error"]
    location = deposit.last.headers.get("Location")
    if "event_id" not in error or location != f"/api/v1/events/{error['event_id']}":
        return [f"{deposit.reference}: outcome_unknown without its event id and Location"]
    if committed and str(event_id) != error["event_id"]:
        return [f"{deposit.reference}: outcome_unknown names another event than the one committed"]
    read = requests.get(f"{api.base_url}{location}", headers=api.headers, timeout=30)
    if read.status_code != (200 if committed else 404):
        return [f"{deposit.reference}: its Location answers {read.status_code}"]
    return []
