"""The one place that reads the process environment; a bad or missing value stops start-up with one line."""

from __future__ import annotations

import os
import zoneinfo
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
from environs import Env, EnvError

_env = Env()


class ConfigurationError(SystemExit):
    """Raised at import of the settings: SystemExit prints its one line and exits non-zero."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"remit: configuration error: {name} {problem}")


def _read(name: str, parse):
    if not os.environ.get(name, "").strip():
        raise ConfigurationError(name, "is not set")
    try:
        return parse(name)
    except (EnvError, ValueError) as exc:
        raise ConfigurationError(name, f"is malformed ({exc})") from None


def string(name: str) -> str:
    return _read(name, _env.str)


def optional_string(name: str) -> str:
    """A value that may be absent or empty (e.g. a public OIDC client has no secret)."""
    return os.environ.get(name, "").strip()


def boolean(name: str, default: bool | None = None) -> bool:
    if default is not None and name not in os.environ:
        return default
    return _read(name, _env.bool)


def integer(name: str, default: int, *, minimum: int | None = None) -> int:
    if name not in os.environ:
        return default
    value = _read(name, _env.int)
    if minimum is not None and value < minimum:
        raise ConfigurationError(name, f"must be at least {minimum}, got {value}")
    return value


def url(name: str, schemes: tuple[str, ...]) -> str:
    value = string(name)
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname:
        raise ConfigurationError(name, f"must be a {'/'.join(schemes)} URL, got {value!r}")
    return value


def urls(name: str, schemes: tuple[str, ...]) -> str:
    """One URL, or several separated by commas (the nodes of a cluster), each checked; returned as given."""
    value = string(name)
    for part in value.split(","):
        parts = urlsplit(part.strip())
        if parts.scheme not in schemes or not parts.hostname:
            raise ConfigurationError(name, f"must be {'/'.join(schemes)} URLs, got {part.strip()!r}")
    return value


def database(name: str) -> dict:
    """Django's connection settings from a PostgreSQL URL that may name several hosts.

    `postgres://u@h1:5432,h2:5433/db` names a primary and its standbys: libpq tries the hosts in
    turn and, unless the URL's query says otherwise, takes only one that accepts writes
    (`target_session_attrs=read-write`), so after a failover a new connection finds the new primary.
    """
    value = string(name)
    parts = urlsplit(value)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ConfigurationError(name, f"must be a postgres/postgresql URL, got {value!r}")
    credentials, _, host_list = parts.netloc.rpartition("@")
    hosts, ports = [], []
    for address in (a.strip() for a in host_list.split(",")):
        host, _, port = address.rpartition(":")
        if not host or address.endswith("]"):  # no port, an IPv6 address in brackets included
            host, port = address, ""
        if not host or (port and not port.isdigit()):
            raise ConfigurationError(name, f"names a malformed host {address!r}")
        hosts.append(host.strip("[]"))
        ports.append(port or "5432")
    first = f"{credentials}@{hosts[0]}:{ports[0]}" if credentials else f"{hosts[0]}:{ports[0]}"
    try:
        settings = dj_database_url.parse(
            value if len(hosts) == 1 else urlunsplit(parts._replace(netloc=first))
        )
    except ValueError as exc:
        raise ConfigurationError(name, f"is malformed ({exc})") from None
    settings.setdefault("OPTIONS", {})
    if len(hosts) > 1:
        settings["HOST"], settings["PORT"] = ",".join(hosts), ",".join(ports)
        settings["OPTIONS"].setdefault("target_session_attrs", "read-write")
    return settings


def time_zone(name: str) -> str:
    value = string(name)
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(name, f"is not a known time zone: {value!r}") from None
    return value


def hosts(name: str) -> list[str]:
    value = [h.strip() for h in string(name).split(",") if h.strip()]
    if not value:
        raise ConfigurationError(name, "lists no host")
    return value


def proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """`X-Forwarded-Proto` (the proxy sets it to `https`) or `X-Forwarded-Proto: https`, as Django's
    SECURE_PROXY_SSL_HEADER pair; None when unset (no proxy is trusted)."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    header, _, expected = value.partition(":")
    header, expected = header.strip(), expected.strip() or "https"
    if not header or not all(c.isalnum() or c == "-" for c in header):
        raise ConfigurationError(name, f"must be a header name such as X-Forwarded-Proto, got {value!r}")
    return "HTTP_" + header.upper().replace("-", "_"), expected


def origins(name: str) -> list[str]:
    """Comma-separated origins (`https://bank.example`), each with its scheme; empty when unset."""
    value = [o.strip() for o in os.environ.get(name, "").split(",") if o.strip()]
    for origin in value:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise ConfigurationError(name, f"must list origins such as https://bank.example, got {origin!r}")
    return value


def rate(name: str, default: str) -> str:
    """A request rate like `600/minute` (per second, minute, hour or day)."""
    value = os.environ.get(name, default).strip()
    count, _, period = value.partition("/")
    if not count.isdigit() or int(count) < 1 or period not in ("second", "minute", "hour", "day"):
        raise ConfigurationError(
            name, f"must be like 600/minute (per second, minute, hour or day), got {value!r}"
        )
    return value
