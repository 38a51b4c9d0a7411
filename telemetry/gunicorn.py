"""gunicorn's own log lines (errors and the access log) as JSON, like the application's."""

from __future__ import annotations

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
