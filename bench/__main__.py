"""`python -m bench [--quick] [--sections ...] [--from-json FILE]`: measure, then write the report.

`--sections front` (or any subset) measures those sections only and keeps the other sections'
figures from the last saved run, so one section can be re-measured without the whole hour.

The full run (`make bench`) writes bench/results/bench.json, the charts beside it, BENCHMARKS.md
and the README's benchmarks section. `--quick` (`make bench-quick`) measures a subset in 1-2
minutes and writes the same files under bench/.work/quick/ so a quick run never replaces the
committed report. Every section runs in its own try/except: a failure is recorded in the report
with its reason and the other sections still run.
"""

import argparse
import json
import os
import signal
import time
import traceback
from pathlib import Path
from typing import Any

from bench.engine_bench import run_engine
from bench.front.section import run_front_section
from bench.http.paired import run_pairs_section
from bench.http.section import run_http_section
from bench.machine import cpu_snapshot, describe_machine, others_share
from bench.proc import REPO
from bench.profile_section import run_profile
from bench.report import write_report
from bench.settings import FULL, QUICK, Settings
from bench.training_bench import run_training

WORK = REPO / "bench" / ".work"
SECTIONS = {
    "training": lambda settings: run_training(settings),
    "engine": lambda settings: run_engine(settings, WORK),
    "http": lambda settings: run_http_section(settings, WORK),
    "pairs": lambda settings: run_pairs_section(settings, WORK),
    "profile": lambda settings: run_profile(settings, WORK),
    "front": lambda settings: run_front_section(settings, WORK),
}


def measure(settings: Settings, sections: list[str]) -> dict[str, Any]:
    """Run the chosen sections; each one's result, or its error and traceback."""
    results: dict[str, Any] = {"quick": settings.quick, "machine": describe_machine()}
    start = cpu_snapshot()
    for name in sections:
        started, section_start = time.perf_counter(), cpu_snapshot()
        print(f"[bench] section {name}", flush=True)
        try:
            results[name] = SECTIONS[name](settings)
        except Exception as exc:  # a broken section must not lose the others' figures
            traceback.print_exc()
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
        results[name]["section_seconds"] = time.perf_counter() - started
        results[name]["others_share"] = others_share(section_start)
    results["machine"]["loadavg_at_end"] = os.getloadavg()
    results["machine"]["others_share"] = others_share(start)
    return results


def main() -> None:
    """Parse the flags, measure (or reload a JSON), write the results and the report."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1-2 minute subset")
    parser.add_argument("--sections", nargs="+", choices=list(SECTIONS), default=list(SECTIONS))
    parser.add_argument("--from-json", type=Path, help="re-write the report from saved results")
    args = parser.parse_args()
    # SIGTERM (make interrupted, a CI timeout) unwinds like Ctrl-C, so every `finally` stops the
    # servers this run started instead of leaving them behind.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    out_dir = WORK / "quick" if args.quick else REPO / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    saved = out_dir / "bench.json"
    if args.from_json:
        results = json.loads(args.from_json.read_text())
    else:
        results = measure(QUICK if args.quick else FULL, args.sections)
        if set(args.sections) != set(SECTIONS) and saved.exists():
            # Some sections only (`--sections front`): the others keep the last run's figures.
            previous = json.loads(saved.read_text())
            results = {**previous, **{k: results[k] for k in args.sections}}
        saved.write_text(json.dumps(results, indent=1) + "\n")
    doc = write_report(results, out_dir, final=not args.quick)
    print(f"[bench] results: {out_dir / 'bench.json'}; report: {doc}", flush=True)


if __name__ == "__main__":
    main()
