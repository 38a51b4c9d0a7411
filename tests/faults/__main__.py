"""`python -m tests.faults --seed N --duration 600`: one campaign from the command line (the soak)."""

from __future__ import annotations

import argparse
import sys

from tests.faults.campaign import Settings, new_seed, run


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults", description=__doc__)
    parser.add_argument("--seed", type=int, default=None, help="Reproduce a run (default: a new seed).")
    parser.add_argument("--duration", type=float, default=Settings.duration, help="Seconds of faults.")
    parser.add_argument("--rate", type=float, default=Settings.rate, help="Operations per second.")
    parser.add_argument("--clients", type=int, default=Settings.clients, help="Client threads.")
    parser.add_argument("--shards", type=int, default=Settings.shards, help="ACCOUNT_EVENT_SHARDS.")
    parser.add_argument("--drain-bound", type=float, default=Settings.drain_bound, help="Seconds to drain.")
    parser.add_argument(
        "--no-refused-event", action="store_true", help="Do not make PostgreSQL refuse one event's writes."
    )
    arguments = parser.parse_args()
    seed = new_seed() if arguments.seed is None else arguments.seed
    print(f"fault campaign, seed {seed}", flush=True)
    outcome = run(
        Settings(
            seed=seed,
            duration=arguments.duration,
            clients=arguments.clients,
            rate=arguments.rate,
            drain_bound=arguments.drain_bound,
            refused_event=not arguments.no_refused_event,
            shards=arguments.shards,
        )
    )
    print(outcome.table if outcome.passed else outcome.explain())
    return 0 if outcome.passed else 1


if __name__ == "__main__":
    sys.exit(main())
