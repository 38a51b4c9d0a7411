"""The benchmark's table (Markdown, for the README) and chart (PNG)."""

from __future__ import annotations

from pathlib import Path


def table(report: dict) -> str:
    ceilings = report["ceilings"]
    c1 = ceilings["pgbench"]["c1_tps"]
    trivial = ceilings["trivial_drf"]["requests_per_second"]
    durable = ceilings["durable_drf"]["requests_per_second"]
    lines = [
        f"Machine: {report['machine']['cores']} cores, Python {report['machine']['python']}, "
        f"{report['machine']['date']}. Ceilings: pgbench TPC-B -c 1 **{c1:.0f} tps**, "
        f"-c 16 **{ceilings['pgbench']['c16_tps']:.0f} tps**; trivial DRF endpoint **{trivial:.0f} req/s** "
        f"(p50 {ceilings['trivial_drf']['p50_ms']:.1f} ms, {ceilings['trivial_drf']['connections']} connections); "
        f"the same endpoint committing one row first **{durable:.0f} req/s** ({durable / trivial:.0%} of trivial).",
        "",
        "| shards | API accept/s (conns) | p50 / p99 ms | vs trivial | worker apply/s (backlog) | vs pgbench -c 1 "
        "| together: accepted/s, applied/s, mean backlog 1st→2nd half | e2e p50 / p99 ms at half rate | invariants |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for shards, run in report["runs"].items():
        accept, apply, together, half = (
            run["accept"],
            run["apply"],
            run["together_at_saturation"],
            run["half_rate"],
        )
        lines.append(
            f"| {shards} | {accept['requests_per_second']:.0f} ({accept['connections']}) "
            f"| {accept['p50_ms']:.1f} / {accept['p99_ms']:.1f} "
            f"| {accept['requests_per_second'] / trivial:.0%} "
            f"| {apply['events_per_second']:.0f} ({apply['backlog']}) | {apply['events_per_second'] / c1:.1f}× "
            f"| {together['accepted_per_second']:.0f}, {together['applied_per_second']:.0f}, "
            f"{together['backlog_first_half_mean']:.0f}→{together['backlog_second_half_mean']:.0f} "
            f"| {half['end_to_end_p50_ms']:.0f} / {half['end_to_end_p99_ms']:.0f} "
            f"(at {half['achieved_per_second']:.0f}/s) "
            f"| {'hold' if not run['invariants_broken'] else 'BROKEN: ' + ', '.join(run['invariants_broken'])} |"
        )
    lines += ["", "CPU (cores busy on average) while API and workers ran together at saturation:", ""]
    groups = list(next(iter(report["runs"].values()))["together_at_saturation"]["cpu_cores"])
    lines += ["| shards | " + " | ".join(groups) + " |", "|---" * (len(groups) + 1) + "|"]
    for shards, run in report["runs"].items():
        cpu = run["together_at_saturation"]["cpu_cores"]
        lines.append(f"| {shards} | " + " | ".join(f"{cpu[g]:.2f}" for g in groups) + " |")
    lines += ["", "CPU milliseconds per request at saturation, by process group:", ""]
    lines += ["| endpoint | " + " | ".join(groups) + " |", "|---" * (len(groups) + 1) + "|"]
    measured = [
        ("trivial DRF", ceilings["trivial_drf"]),
        ("trivial DRF + one committed row", ceilings["durable_drf"]),
    ]
    measured += [(f"accept, {shards} shard(s)", run["accept"]) for shards, run in report["runs"].items()]
    for name, result in measured:
        lines.append(
            f"| {name} | " + " | ".join(f"{result['cpu_ms_per_request'][g]:.2f}" for g in groups) + " |"
        )
    if all("half_rate_waiting" in run for run in report["runs"].values()):
        lines += [
            "",
            "Waiting for the outcome (`Prefer: wait=5`): the accept rate without the header, alone and while "
            "requests with it hold every waiting place (workers stopped; the mean of two alternated rounds each); "
            "request to answer with it at half the saturation rate:",
            "",
            "| shards | accept/s alone (conns) | accept/s beside waiters | with the header: p50 / p99 ms "
            "| answered final (200) |",
            "|---|---|---|---|---|",
        ]
        for shards, run in report["runs"].items():
            beside, waiting = run["accept_beside_waiters"], run["half_rate_waiting"]
            lines.append(
                f"| {shards} | {beside['alone_per_second']:.0f} ({beside['connections']}) "
                f"| {beside['beside_waiters_per_second']:.0f} ({beside['ratio']:.0%}) "
                f"| {waiting['p50_ms']:.1f} / {waiting['p99_ms']:.1f} (at {waiting['achieved_per_second']:.0f}/s) "
                f"| {waiting['final_share']:.1%} |"
            )
    reads = next((run["reads"] for run in report["runs"].values() if run["reads"]), None)
    if reads:
        lines += [
            "",
            "GET an account, p50 / p99 ms: with 1,000,000 journal entries "
            f"{reads['account_with_1m_entries']['p50_ms']} / {reads['account_with_1m_entries']['p99_ms']}, "
            f"with none {reads['account_with_no_entries']['p50_ms']} / {reads['account_with_no_entries']['p99_ms']}.",
        ]
    return "\n".join(lines) + "\n"


def chart(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = report["runs"]
    ceilings = report["ceilings"]
    labels = ["pgbench\n-c 1", "pgbench\n-c 16", "trivial\nDRF", "trivial DRF\n+ 1 row"]
    values = [ceilings["pgbench"]["c1_tps"], ceilings["pgbench"]["c16_tps"],
              ceilings["trivial_drf"]["requests_per_second"],
              ceilings["durable_drf"]["requests_per_second"]]  # fmt: skip
    colours = ["#999999"] * 4
    for shards, run in runs.items():
        labels += [f"accept\n{shards} shard(s)", f"apply\n{shards} shard(s)"]
        values += [run["accept"]["requests_per_second"], run["apply"]["events_per_second"]]
        colours += ["#4c72b0", "#55a868"]
    figure, (rates, latency) = plt.subplots(1, 2, figsize=(14, 5), gridspec_kw={"width_ratios": [3, 2]})
    rates.bar(range(len(values)), values, color=colours)
    rates.set_xticks(range(len(values)), labels, fontsize=8)
    rates.set_ylabel("per second")
    rates.set_title("Throughput: ceilings (grey), API accept (blue), worker apply (green)")
    for x, value in enumerate(values):
        rates.text(x, value, f"{value:.0f}", ha="center", va="bottom", fontsize=8)
    names = list(runs)
    width = 0.2
    series = [
        ("accept p50", [runs[s]["accept"]["p50_ms"] for s in names]),
        ("accept p99", [runs[s]["accept"]["p99_ms"] for s in names]),
        ("end-to-end p50 (half rate)", [runs[s]["half_rate"]["end_to_end_p50_ms"] for s in names]),
        ("end-to-end p99 (half rate)", [runs[s]["half_rate"]["end_to_end_p99_ms"] for s in names]),
    ]
    for index, (label, points) in enumerate(series):
        latency.bar([x + index * width for x in range(len(names))], points, width, label=label)
    latency.axhline(100, color="red", linestyle="--", linewidth=1, label="100 ms")
    latency.set_xticks([x + 1.5 * width for x in range(len(names))], [f"{s} shard(s)" for s in names])
    latency.set_ylabel("milliseconds")
    latency.set_title("Latency")
    latency.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
