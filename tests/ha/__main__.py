"""`python -m tests.ha`: the HA run of issue 12 (what `scripts/test-ha` runs), one table at the end."""

from __future__ import annotations

import argparse
import random
import signal
import sys

from tests.ha.run import run


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.ha", description=__doc__)
    parser.add_argument("--seed", type=int, default=None, help="The clients' stream (default: a new seed).")
    parser.add_argument("--rate", type=float, default=30, help="Operations per second during the faults.")
    parser.add_argument("--clients", type=int, default=6, help="Client threads during the faults.")
    parser.add_argument(
        "--measure-seconds", type=int, default=5, help="Each accept-rate measurement (sync, async)."
    )
    parser.add_argument("--keep-logs", action="store_true", help="Keep the processes' logs of a passing run.")
    arguments = parser.parse_args()
    # A timeout's SIGTERM unwinds like Ctrl-C, so everything started is torn down.
    signal.signal(signal.SIGTERM, lambda _signal, _frame: sys.exit("stopped by SIGTERM"))
    seed = random.SystemRandom().randrange(10**6) if arguments.seed is None else arguments.seed
    print(f"HA run, seed {seed}", flush=True)
    outcome = run(
        seed=seed,
        rate=arguments.rate,
        clients=arguments.clients,
        measure_seconds=arguments.measure_seconds,
        keep_logs=arguments.keep_logs,
    )
    if outcome.table:
        print(outcome.table)
    if outcome.passed:
        print("PASS" + (f" (logs: {outcome.logs})" if outcome.logs else ""))
        return 0
    if outcome.error:
        print(f"error: {outcome.error}")
    for failure in outcome.failed_checks:
        print(f"FAIL {failure}")
    print(f"logs: {outcome.logs}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
