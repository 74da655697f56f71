"""The results as one PNG: cases/s of each process beside its floor and minimal floor, per database,
and one process on 1 and 2 worker processes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from .report import processes_of


def draw(results: dict, out: Path) -> None:
    runs = {k: processes_of(v) for k, v in results["throughput"].items() if isinstance(v, dict)}
    scaling = {k: v["worker_processes"] for k, v in results["throughput"].items()
               if isinstance(v, dict) and "worker_processes" in v}
    processes = list(next(iter(runs.values())))
    panels = len(runs) + len(scaling)
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * len(runs) + 2.5 * len(scaling), 4), squeeze=False,
                             gridspec_kw={"width_ratios": [2.2] * len(runs) + [1] * len(scaling)})
    for ax, (database, by_process) in zip(axes[0], runs.items(), strict=False):
        x = range(len(processes))
        minimal = [by_process[p].get("minimal_floor", {}).get("cases_per_s", 0) for p in processes]
        floor = [by_process[p]["floor"]["cases_per_s"] for p in processes]
        ours = [by_process[p]["process"]["cases_per_s"] for p in processes]
        ax.bar([i - 0.27 for i in x], minimal, 0.27, label="minimal floor (start, updates, end)", color="#dcdcdc")
        ax.bar(list(x), floor, 0.27, label="floor (same activities, timers, updates; no work)", color="#a0a0a0")
        bars = ax.bar([i + 0.27 for i in x], ours, 0.27, label="process", color="#2f6fb0")
        for bar, p in zip(bars, processes, strict=True):
            ax.annotate(f"{by_process[p]['ratio_to_floor']:.2f}×",
                        (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom", fontsize=9)
        ax.set_xticks(list(x), [p.replace("Review", "\nReview").replace("Repair", "\nRepair")
                                .replace("Closure", "\nClosure").replace("Cleanup", "\nCleanup") for p in processes],
                      fontsize=8)
        ax.set_title(f"{database}, {results['throughput']['cases']} cases each")
        ax.set_ylabel("cases/s (batch ÷ its wall time)")
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].legend(fontsize=7, loc="upper right")
    for ax, (database, r) in zip(axes[0][len(runs):], scaling.items(), strict=True):
        bars = ax.bar(["1", "2"], [r["1"]["cases_per_s"], r["2"]["cases_per_s"]], 0.6, color="#2f6fb0")
        ax.annotate(f"{r['speedup']:.2f}×", (bars[1].get_x() + bars[1].get_width() / 2, bars[1].get_height()),
                    ha="center", va="bottom", fontsize=9)
        ax.set_xlabel("worker processes")
        ax.set_title(f"{database}: {r['process']}, {r['cases']} cases", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    m = results["machine"]
    fig.suptitle(f"Cases/s vs floor · {m['cores']} cores, {m['cpu'][:40]} · temporalio {m['temporalio']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


if __name__ == "__main__":  # redraw from a results file: python -m bench.chart bench/results/reference.json
    path = Path(sys.argv[1])
    draw(json.loads(path.read_text(encoding="utf-8")), path.with_suffix(".png"))
