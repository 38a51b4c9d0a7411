"""Gunicorn settings for the Remit API (the benchmark and the tests use the same file)."""

import atexit
import logging
import multiprocessing
import os
import shutil
import tempfile

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Requests spend most of their time waiting on PostgreSQL, so threads overlap that wait.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
# One process per core, with enough threads to keep it busy while others wait (measured: bench/).
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
# A request waiting for its event (Prefer: wait) holds a thread: the process gets one more thread for
# each of its waiting places (EVENT_WAITERS_PER_PROCESS, default 4 as in config/settings), so that
# waiters never take the threads that accept. 4 + 4 = 8 threads: with 12 a process accepted about 12%
# less on 2 cores (more threads contend for the GIL; with 2 + 4, 9% less): bench/.
threads = int(os.environ.get("GUNICORN_THREADS", 4)) + int(os.environ.get("EVENT_WAITERS_PER_PROCESS", 4))
timeout = 30
graceful_timeout = 20
keepalive = 5
# One JSON line per request (telemetry.gunicorn), like every other line; "-" is stdout, "" turns it off.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
logger_class = "telemetry.gunicorn.JsonLogger"
wsgi_app = "config.wsgi:application"

# Prometheus multiprocess mode: every worker writes its metrics to files in this directory and
# GET /metrics adds them up. The directory is new for each start, so no earlier server's figures
# linger; it is set here, before any worker imports prometheus_client (config.wsgi loads in workers).
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _metrics_dir = tempfile.mkdtemp(prefix="remit-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir
    _master = os.getpid()
    atexit.register(lambda: os.getpid() == _master and shutil.rmtree(_metrics_dir, ignore_errors=True))


def post_worker_init(worker) -> None:
    """The worker has loaded the application: freeze what start-up made (config.startup)."""
    from config.startup import freeze_startup_objects

    freeze_startup_objects()


def worker_exit(server, worker) -> None:
    """A worker told to stop leaves as soon as its requests are answered (or graceful_timeout passed).

    Without this, Python's exit joins the thread pool, whose threads may each wait up to 5 s for a
    request on a connection a browser opened and left idle: a quick stop (SIGINT, as scripts/run
    sends) took 3 to 6 s with a few such connections, and takes 0.6 s with this.
    """
    if worker.alive:  # failing to boot, say: its exit status tells the master to give up
        return
    from telemetry import tracing

    tracing.shutdown()
    for handler in logging.getLogger().handlers:
        handler.flush()
    os._exit(0)


def child_exit(server, worker) -> None:
    """A worker that exits takes its live gauges with it (its counters stay in the sums)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
