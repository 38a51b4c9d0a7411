"""Demo accounts for the dev system, made through the public API with the dev identity provider's users.

Run by scripts/run; safe to run again (a user who has accounts already is left as they are).
"""

from __future__ import annotations

import sys
import time

import requests

API = "http://127.0.0.1:8000/api/v1"
TOKEN_URL = "http://127.0.0.1:8080/realms/remit/protocol/openid-connect/token"


def token(username: str) -> str:
    response = requests.post(
        TOKEN_URL,
        data={"grant_type": "password", "client_id": "remit-api", "username": username, "password": username},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["access_token"]


def session(username: str) -> requests.Session:
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token(username)}"
    return http


def call(http: requests.Session, method: str, path: str, body: dict | None = None) -> dict:
    response = http.request(method, f"{API}{path}", json=body, timeout=10)
    if response.status_code >= 400:
        sys.exit(f"demo data: {method} {path} answered {response.status_code}: {response.text}")
    return response.json()


def main() -> None:
    alice, bob = session("alice"), session("bob")
    if call(alice, "GET", "/accounts")["count"] == 0:
        alice_krw = call(alice, "POST", "/accounts", {"currency": "KRW"})["id"]
        alice_usd = call(alice, "POST", "/accounts", {"currency": "USD"})["id"]
        bob_krw = call(bob, "POST", "/accounts", {"currency": "KRW"})["id"]
        call(alice, "POST", f"/accounts/{alice_krw}/deposits", {"amount": "1000000", "reference": "salary"})
        call(alice, "POST", f"/accounts/{alice_usd}/deposits", {"amount": "2500.00"})
        call(bob, "POST", f"/accounts/{bob_krw}/deposits", {"amount": "50000"})
        call(
            alice, "POST", "/transfers", {"from_account": alice_krw, "to_account": bob_krw, "amount": "25000"}
        )
        time.sleep(0.5)
    for name, http in (("alice", alice), ("bob", bob)):
        for account in call(http, "GET", "/accounts")["results"]:
            print(f"  {name:5} {account['currency']} {account['id']}  balance {account['balance']}")


if __name__ == "__main__":
    main()
