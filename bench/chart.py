"""The results as one PNG: cases/s of each process beside its floor, per database."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def draw(results: dict, out: Path) -> None:
    runs = {k: v for k, v in results["throughput"].items() if isinstance(v, dict)}
    processes = list(next(iter(runs.values())))
    fig, axes = plt.subplots(1, len(runs), figsize=(5.5 * len(runs), 4), squeeze=False, sharey=True)
    for ax, (database, by_process) in zip(axes[0], runs.items(), strict=True):
        x = range(len(processes))
        floor = [by_process[p]["floor"]["cases_per_s"] for p in processes]
        ours = [by_process[p]["process"]["cases_per_s"] for p in processes]
        ax.bar([i - 0.2 for i in x], floor, 0.4, label="floor (same activities, timers, updates; no work)",
               color="#b0b0b0")
        bars = ax.bar([i + 0.2 for i in x], ours, 0.4, label="process", color="#2f6fb0")
        for bar, p in zip(bars, processes, strict=True):
            ax.annotate(f"{by_process[p]['ratio_to_floor']:.2f}×",
                        (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom", fontsize=9)
        ax.set_xticks(list(x), [p.replace("Review", "\nReview").replace("Repair", "\nRepair")
                                .replace("Closure", "\nClosure").replace("Cleanup", "\nCleanup") for p in processes],
                      fontsize=8)
        ax.set_title(f"{database}, {results['throughput']['cases']} cases each")
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("cases/s (batch ÷ its wall time)")
    axes[0][0].legend(fontsize=7, loc="upper right")
    m = results["machine"]
    fig.suptitle(f"Cases/s vs floor · {m['cores']} cores, {m['cpu'][:40]} · temporalio {m['temporalio']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


if __name__ == "__main__":  # redraw from a results file: python -m bench.chart bench/results/reference.json
    path = Path(sys.argv[1])
    draw(json.loads(path.read_text(encoding="utf-8")), path.with_suffix(".png"))
