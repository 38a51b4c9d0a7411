"""The reconnect back-off: doubling steps up to a ceiling, each wait drawn at random within its step."""

from __future__ import annotations

import random
import statistics
import threading

from messaging.connection import Backoff


class RecordingStop(threading.Event):
    """A stop signal that is never set and records how long each wait asked for, without waiting."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None
        self.waits.append(timeout)
        return False


def test_each_wait_lies_within_its_step_and_the_steps_double_up_to_the_ceiling():
    stop = RecordingStop()
    backoff = Backoff(stop, ceiling=5.0, rng=random.Random(1))

    for _ in range(8):
        backoff.wait()

    steps = [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0]
    assert all(step / 2 <= waited <= step for waited, step in zip(stop.waits, steps, strict=True))


def test_workers_that_lost_a_server_together_do_not_come_back_together():
    first_waits = []
    for seed in range(50):
        stop = RecordingStop()
        Backoff(stop, rng=random.Random(seed)).wait()
        first_waits.append(stop.waits[0])

    assert statistics.pstdev(first_waits) > 0.02
    assert min(first_waits) >= 0.1


def test_reset_starts_again_from_the_first_step():
    stop = RecordingStop()
    backoff = Backoff(stop, rng=random.Random(2))
    for _ in range(5):
        backoff.wait()

    backoff.reset()
    backoff.wait()

    assert 0.1 <= stop.waits[-1] <= 0.2
