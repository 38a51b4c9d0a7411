"""Gunicorn settings for the Remit API (the benchmark and the tests use the same file)."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Requests spend most of their time waiting on PostgreSQL, so threads overlap that wait.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
# One process per core, with enough threads to keep it busy while others wait (measured: bench/).
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", 8))
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG")  # unset: no access log on the hot path
errorlog = "-"
wsgi_app = "config.wsgi:application"
