"""Log lines as one JSON object each: UTC ISO 8601 time, level, logger, message, and the context's ids."""

from __future__ import annotations

import datetime as dt
import json
import logging

from telemetry import context

# Attributes a call may pass with `extra=` that belong in the line (beyond the context's ids).
_EXTRA = (
    "request_id",
    "user",
    "event_id",
    "account",
    "type",
    "status",
    "reason",
    "shard",
    "method",
    "path",
    "route",
    "duration_ms",
    "remote",
    "bytes",
    "user_agent",
)


def utc_time(created: float) -> str:
    return (
        dt.datetime.fromtimestamp(created, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "request_id"?, "user"?, "event_id"?, "account"?, ...}`.

    Ids come from `extra=` first, else from the context variables of telemetry.context; a field
    with no value is left out. A traceback goes in `exception`. A record with `extra={"each": [...]}`
    becomes one line per item, each item's fields added to the record's.
    """

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": utc_time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, var in context.FIELDS.items():
            value = var.get()
            if value is not None:
                line[name] = value
        attributes = record.__dict__
        for name in _EXTRA:
            value = attributes.get(name)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        each = attributes.get("each")
        if each is not None:
            # One line per item, in one write: a batch of events logs each event at the cost of a few
            # microseconds, not a whole log record.
            return "\n".join(json.dumps(line | item, ensure_ascii=False, default=str) for item in each)
        return json.dumps(line, ensure_ascii=False, default=str)
