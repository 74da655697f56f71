"""`python -m bench [throughput] [scale] [change]`: the throughput run (every process beside its floor
and its minimal floor, on SQLite and, given a URL, PostgreSQL, then one process on 1 and 2 worker
processes), the scale run and a service change over 100,000 lines (default: all three), into one
JSON file and its chart. A part run alone replaces only its own section of the file. `--quick`: the
throughput run on SQLite alone, small batches on one worker, in under 3 minutes, into its own file.
`scripts/bench` runs it with a throwaway PostgreSQL."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import sqlalchemy as sa
from temporalio.client import Client

from edge.codec import KeyRing, data_converter

from .change import run_change
from .chart import draw
from .processes import ROOT, DevServer
from .scale import run_scale
from .throughput import run_database

RESULTS = ROOT / "bench" / "results" / "reference.json"
QUICK_RESULTS = RESULTS.with_name("quick.json")
QUICK_CASES = 20
CASES = 150
SCALE = 2_000
"""The full run's sizes, chosen to finish in about a quarter of an hour on two cores; the scale target of
issue 16 (10,000 open cases) is `scripts/bench scale --scale 10000`, about 30 minutes here."""


def machine(postgres_url: str | None) -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                         if line.startswith("MemTotal")))
    temporal = subprocess.run([str(Path(sys.executable).parent / "temporal"), "--version"],
                              capture_output=True, text=True).stdout.strip()
    described = {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(memory_kb / 2**20, 1),
                 "os": platform.platform(), "python": platform.python_version(),
                 "temporalio": version("temporalio"), "temporal_cli": temporal, "sqlite": sqlite3.sqlite_version}
    if postgres_url:
        engine = sa.create_engine(postgres_url)
        with engine.connect() as connection:
            described["postgresql"] = connection.execute(sa.text("SHOW server_version")).scalar()
        engine.dispose()
    return described


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    every = ["throughput", "scale", "change"]
    parser.add_argument("parts", nargs="*", metavar="{throughput,scale,change}",
                        help="what to run (default: all; with --quick, throughput)")
    parser.add_argument("--quick", action="store_true",
                        help=f"SQLite only, {QUICK_CASES} cases a batch, one worker for every batch of one process "
                             f"(its CPU time still per batch): under 3 minutes; into {QUICK_RESULTS.relative_to(ROOT)}")
    parser.add_argument("--cases", type=int,
                        help=f"cases per process and per floor (default {CASES}; quick {QUICK_CASES})")
    parser.add_argument("--scaling-cases", type=int,
                        help="cases on 1 and on 2 worker processes (default: twice --cases, at most 600)")
    parser.add_argument("--postgres", default=os.environ.get("TELECOM_BENCH_POSTGRES_URL"),
                        help="admin URL of a PostgreSQL server to run on as well (a database is created and dropped)")
    parser.add_argument("--scale", type=int, default=SCALE, help=f"open cases in the scale run (default {SCALE:,})")
    parser.add_argument("--sample", type=int, default=100, help="scale-run cases driven on while the rest wait")
    parser.add_argument("--lines", type=int, default=100_000, help="lines a service change tells (default 100,000)")
    parser.add_argument("--out", type=Path, help=f"results file (default {RESULTS.relative_to(ROOT)})")
    parser.add_argument("--note", help="what the results file should say about this run (e.g. a shared machine)")
    args = parser.parse_args()
    if set(args.parts) - set(every):  # argparse's `choices` refuses an empty list of parts
        parser.error(f"parts: choose from {', '.join(every)}")
    args.parts = args.parts or (["throughput"] if args.quick else every)
    args.cases = args.cases or (QUICK_CASES if args.quick else CASES)
    args.scaling_cases = args.scaling_cases or min(2 * args.cases, 600)
    args.out = args.out or (QUICK_RESULTS if args.quick else RESULTS)
    postgres = None if args.quick else args.postgres

    keys = "bench:" + base64.b64encode(os.urandom(32)).decode()  # payloads encrypted, as in production
    converter = data_converter(KeyRing.parse(keys, "the benchmark's key ring"))
    results: dict = json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists() else {}
    results["machine"] = machine(postgres)
    when = datetime.now(UTC).isoformat(timespec="seconds")
    with tempfile.TemporaryDirectory(prefix="telecom-bench-") as tmp:
        work = Path(tmp)
        if "throughput" in args.parts:
            server = DevServer(work / "server.log")
            try:
                client = await Client.connect(server.address, data_converter=converter)
                shapes, throughput = None, {"when": when, "cases": args.cases, "quick": args.quick,
                                            **({"note": args.note} if args.note else {})}
                for kind in ["sqlite"] + (["postgresql"] if postgres else []):
                    throughput[kind], shapes = await run_database(
                        kind, client, server, args.cases, work, keys, postgres, shapes, quick=args.quick,
                        scaling_cases=args.scaling_cases if kind == "sqlite" else 0)
                results["throughput"] = throughput
            finally:
                server.stop()
        if "scale" in args.parts:
            results["scale"] = {"when": when, **await run_scale(args.scale, args.sample, work, keys, converter)}
        if "change" in args.parts:
            results["change"] = {"when": when, **await run_change(args.lines, work, keys, converter)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if "throughput" in results:
        draw(results, args.out.with_suffix(".png"))
    print(f"results: {args.out} and {args.out.with_suffix('.png')}")


if __name__ == "__main__":
    asyncio.run(main())
