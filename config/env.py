"""The one place that reads the process environment; a bad or missing value stops start-up with one line."""

from __future__ import annotations

import os
import zoneinfo
from urllib.parse import urlsplit

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
