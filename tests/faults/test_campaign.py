"""The bounded fault campaign of the normal test command; `FAULT_SEED=N` reproduces a run."""

from __future__ import annotations

import os

from tests.faults.campaign import Settings, new_seed, run

# Seconds of faults: with start-up, the drain and the checks, the run stays within four minutes here.
BOUNDED_SECONDS = 90


def test_under_every_fault_in_the_schedule_no_money_is_lost_doubled_or_stuck(campaign_summaries):
    seed = int(os.environ.get("FAULT_SEED") or new_seed())
    print(f"fault campaign seed {seed}")

    outcome = run(Settings(seed=seed, duration=BOUNDED_SECONDS))
    campaign_summaries.append(outcome.table if outcome.passed else outcome.explain())

    assert outcome.passed, outcome.explain()
