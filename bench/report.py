"""The results file as Markdown tables: `python -m bench.report [bench/results/reference.json]`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .processes import ROOT

COLUMNS = ("cases/s", "floor cases/s", "ratio", "events (floor)", "upserts", "first record p50/p99 ms",
           "worker CPU ms/case (floor)", "server CPU ms/case (floor)", "worker peak RSS MB")


def throughput_table(results: dict) -> str:
    lines = []
    for database, by_process in results["throughput"].items():
        if not isinstance(by_process, dict):
            continue
        lines += [f"**{database}**, {results['throughput']['cases']} cases per batch", "",
                  "| process | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
        for name, r in by_process.items():
            p, f = r["process"], r["floor"]
            cells = (p["cases_per_s"], f["cases_per_s"], f"{r['ratio_to_floor']:.2f}×",
                     f"{p['events']:g} ({f['events']:g})", f"{p['upserts']:g}",
                     f"{p['first_record_p50_ms']}/{p['first_record_p99_ms']}",
                     f"{p['worker_cpu_ms_per_case']:g} ({f['worker_cpu_ms_per_case']:g})",
                     f"{p['server_cpu_ms_per_case']:g} ({f['server_cpu_ms_per_case']:g})", p["worker_peak_rss_mb"])
            lines.append(f"| {name} | " + " | ".join(str(c) for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def scale_table(results: dict) -> str:
    s = results["scale"]
    return "\n".join([
        "| open cases | all open after | worker RSS waiting (peak) | server RSS waiting | sample moved on "
        "| per case p50/p99 |",
        "|---|---|---|---|---|---|",
        f"| {s['cases']} | {s['all_open_s']} s ({s['opened_per_s']}/s) | {s['waiting_worker_rss_mb']} MB "
        f"({s['worker_peak_rss_mb']} MB) | {s['waiting_server_rss_mb']} MB | {s['sample']} in {s['sample_wall_s']} s "
        f"| {s['sample_case_p50_ms']}/{s['sample_case_p99_ms']} ms |"])


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench" / "results" / "reference.json"
    results = json.loads(path.read_text(encoding="utf-8"))
    print(throughput_table(results) if "throughput" in results else "")
    print(scale_table(results) if "scale" in results else "")
