"""The benchmark: machine ceilings, API accept rate, worker apply rate, end-to-end latency (README)."""
