"""Long-running processes freeze what start-up made, out of the garbage collector's sight."""

from __future__ import annotations

import gc
import runpy
import signal

import pytest

from tests.support.processes import ROOT


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()  # the test process's objects go back to the collector


def test_freezing_moves_every_live_object_out_of_the_collections(unfrozen):
    from config.startup import freeze_startup_objects

    made_at_start_up = object.__new__(type("MadeAtStartUp", (), {}))
    freeze_startup_objects()

    assert gc.get_freeze_count() > 0
    assert all(made_at_start_up is not o for generation in range(3) for o in gc.get_objects(generation))


def test_each_gunicorn_worker_freezes_once_it_has_loaded_the_application(unfrozen, monkeypatch, tmp_path):
    # Set, so that reading the file does not make this process's metrics multiprocess ones.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    hooks = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    assert gc.get_freeze_count() == 0

    hooks["post_worker_init"](None)

    assert gc.get_freeze_count() > 0


def test_the_worker_freezes_before_it_consumes(monkeypatch):
    from django.core.management import call_command

    from config.management.commands import consume_account_events as command

    happened = []

    class Worker:
        relay_failed = False

        def run(self) -> int:
            happened.append("run")
            return 0

        def stop(self) -> None:
            pass

    monkeypatch.setattr(command.bootstrap, "worker", lambda **_: Worker())
    monkeypatch.setattr(command, "freeze_startup_objects", lambda: happened.append("freeze"))

    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        call_command("consume_account_events")
    finally:  # the command set its own, for the worker it runs
        for signum, handler in handlers.items():
            signal.signal(signum, handler)

    assert happened == ["freeze", "run"]
