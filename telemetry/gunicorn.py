"""gunicorn's own log lines (errors and the access log) as JSON, like the application's."""

from __future__ import annotations

import logging
import os
import threading
import time

from gunicorn.glogging import Logger

from telemetry.context import ENVIRON_REQUEST_ID, ENVIRON_USER
from telemetry.logs import JsonFormatter


class JsonLogger(Logger):
    """`logger_class` for deploy/gunicorn.conf.py: one access line per request with the request id
    and user that Django found, and gunicorn's error lines, all in telemetry.logs's format."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        formatter = JsonFormatter()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter)
        self.access_log.handlers = [
            FlushedAside.replacing(handler) if type(handler) is logging.StreamHandler else handler
            for handler in self.access_log.handlers
        ]

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        status = getattr(resp, "status_code", None)
        path = req.path + (f"?{req.query}" if req.query else "")
        self.access_log.info(
            "%s %s %s",
            req.method,
            path,
            status,
            extra={
                "request_id": environ.get(ENVIRON_REQUEST_ID),
                "user": environ.get(ENVIRON_USER),
                "method": req.method,
                "path": path,
                "status": status,
                "duration_ms": round(request_time.total_seconds() * 1000, 3),
                "bytes": getattr(resp, "sent", None),
                "remote": environ.get("REMOTE_ADDR"),
                "user_agent": environ.get("HTTP_USER_AGENT"),
            },
        )


class FlushedAside(logging.StreamHandler):
    """The access log's handler on standard output: writes each line without flushing it, and a
    thread flushes twice a second (and deploy/gunicorn.conf.py at a worker's exit).

    A flush is a write(2) per request, during which the request's thread lets go of the GIL and
    then queues for it behind the process's other threads. Lines reach the log within half a
    second; a worker killed with SIGKILL may lose that last half second of access lines (the
    application's own lines, and the events' outcomes in PostgreSQL, are not affected).
    """

    @classmethod
    def replacing(cls, handler: logging.StreamHandler) -> FlushedAside:
        aside = cls(handler.stream)
        aside.setFormatter(handler.formatter)
        aside.setLevel(handler.level)
        aside._gunicorn = getattr(handler, "_gunicorn", False)  # gunicorn finds its handlers by it
        return aside

    def __init__(self, stream, *, flush_every_seconds: float = 0.5) -> None:
        super().__init__(stream)
        self._flush_every = flush_every_seconds
        self._flusher_pid: int | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + self.terminator)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)
        # Under the handler's lock (Handler.handle); once in each gunicorn worker, whose threads
        # the fork from the master did not bring along.
        if self._flusher_pid != os.getpid():
            self._flusher_pid = os.getpid()
            threading.Thread(target=self._flush_forever, name="access-log-flusher", daemon=True).start()

    def _flush_forever(self) -> None:
        while not self.stream.closed:
            time.sleep(self._flush_every)
            try:
                self.flush()
            except ValueError:  # closed meanwhile
                return
