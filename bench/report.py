"""The results file as Markdown tables: `python -m bench.report [bench/results/reference.json]`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .processes import ROOT

COLUMNS = ("cases/s", "floor cases/s (minimal)", "ratio", "events (floor, minimal)", "history bytes (floor, minimal)",
           "upserts", "first record p50/p99 ms", "worker CPU ms/case (floor)", "server CPU ms/case (floor)",
           "worker peak RSS MB")


def processes_of(by_process: dict) -> dict:
    """A database's batches by process (its other entries, e.g. `worker_processes`, are apart)."""
    return {name: r for name, r in by_process.items() if isinstance(r, dict) and "floor" in r}


def throughput_table(results: dict) -> str:
    lines = []
    for database, by_process in results["throughput"].items():
        if not isinstance(by_process, dict):
            continue
        lines += [f"**{database}**, {results['throughput']['cases']} cases per batch", "",
                  "| process | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
        for name, r in processes_of(by_process).items():
            p, f, m = r["process"], r["floor"], r.get("minimal_floor", {})
            cells = (p["cases_per_s"], f"{f['cases_per_s']} ({_shown(m, 'cases_per_s')})",
                     f"{r['ratio_to_floor']:.2f}×",
                     f"{p['events']:g} ({f['events']:g}, {_shown(m, 'events')})",
                     f"{_shown(p, 'history_bytes')} ({_shown(f, 'history_bytes')}, {_shown(m, 'history_bytes')})",
                     f"{p['upserts']:g}", f"{p['first_record_p50_ms']}/{p['first_record_p99_ms']}",
                     f"{p['worker_cpu_ms_per_case']:g} ({f['worker_cpu_ms_per_case']:g})",
                     f"{p['server_cpu_ms_per_case']:g} ({f['server_cpu_ms_per_case']:g})", p["worker_peak_rss_mb"])
            lines.append(f"| {name} | " + " | ".join(str(c) for c in cells) + " |")
        lines.append("")
        if "worker_processes" in by_process:
            lines += [processes_table(by_process["worker_processes"]), ""]
    return "\n".join(lines)


def _shown(batch: dict, key: str) -> str:
    """A number of a batch; – where a results file from before it was measured has none."""
    return f"{batch[key]:g}" if key in batch else "–"


def processes_table(runs: dict) -> str:
    """One process on 1 and on 2 worker processes (`telecom-worker --processes`)."""
    rows = ["| worker processes | cases/s | worker CPU ms/case | server CPU ms/case | worker peak RSS MB (all) |",
            "|---|---|---|---|---|"]
    rows += [f"| {n} | {runs[n]['cases_per_s']} | {runs[n]['worker_cpu_ms_per_case']:g} | "
             f"{runs[n]['server_cpu_ms_per_case']:g} | {runs[n]['worker_peak_rss_mb']} |" for n in ("1", "2")]
    return (f"{runs['process']}, {runs['cases']} cases on a fresh worker each: 2 processes reach "
            f"{runs['speedup']}× the cases/s of 1\n\n" + "\n".join(rows))


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
