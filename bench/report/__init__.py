"""Write BENCHMARKS.md, its charts and the README's benchmarks section from one run's results.

This module assembles the document; each section is rendered by the module named for it
(`training`, `engine`, `http`, `analysis`, `profile`; the Front section by `bench.front.report`),
the README's section by `readme`, and `format` holds the table and ratio helpers they share.
"""

import os
from pathlib import Path
from typing import Any

from bench import summary
from bench.charts import latency_chart, throughput_chart
from bench.front import report as front
from bench.proc import REPO
from bench.report import analysis, engine, http, profile, readme, training
from bench.report.format import MARK, table
from bench.targets import verdicts

NOT_RUN = {"error": "section not run"}


def write_report(results: dict[str, Any], out_dir: Path, final: bool) -> Path:
    """Charts into `out_dir`; BENCHMARKS.md at the root (final) or in `out_dir` (quick).

    The final report also rewrites the README's benchmarks section. Returns BENCHMARKS.md's path.
    """
    machine = results["machine"]
    s: dict[str, Any] = {
        "training_all": summary.training(results.get("training", {})),
        "engine": summary.engine(results.get("engine", {})),
        "http": summary.http(results.get("http", {}), machine["cores"]),
        "pairs": results.get("pairs", {}),
    }
    threads = summary.headline_threads(s["training_all"])
    s["training"] = s["training_all"].get(threads, {})
    doc = (REPO if final else out_dir) / "BENCHMARKS.md"
    text = "\n".join([*_header(results, out_dir), *_sections(results, s, threads)])
    for key, rel in _charts(s["http"], out_dir, doc.parent).items():
        text = text.replace(f"({key})", f"({rel})")
    doc.write_text(text)
    if final:
        readme.update(results, s, threads)
    return doc


def _charts(http_summary: dict[str, Any], out_dir: Path, doc_dir: Path) -> dict[str, str]:
    """Draw the charts into `out_dir`: {placeholder in the text: path relative to `doc_dir`}."""
    if not http_summary:
        return {}
    charts = {}
    for key, fn in (("THROUGHPUT", throughput_chart), ("LATENCY", latency_chart)):
        path = fn(http_summary, out_dir / f"{key.lower()}.png")
        charts[key] = os.path.relpath(path, doc_dir)
    return charts


def _header(results: dict[str, Any], out_dir: Path) -> list[str]:
    """The title, where the figures come from, and the machine they were measured on."""
    machine = results["machine"]
    blas = ", ".join(
        f"{b['internal_api']} {b['version']} ({b['architecture']})" for b in machine["blas"]
    )
    return [
        "# Benchmarks",
        "",
        f"Written by `python -m bench{' --quick' if results['quick'] else ''}` on "
        f"{machine['date_utc']}; raw figures in "
        f"`{os.path.relpath(out_dir / 'bench.json', REPO)}`. Re-run `make bench` rather than "
        "editing this file.",
        "",
        f"Machine: {machine['cpu_model']}, {machine['cores']} cores, {machine['memory_gib']} GiB, "
        f"Linux {machine['kernel']}, Python {machine['python']}, NumPy "
        f"{machine['packages']['numpy']} with {blas}; load average "
        f"{machine['loadavg_at_start'][0]:.2f} at the start and "
        f"{machine.get('loadavg_at_end', [float('nan')])[0]:.2f} at the end. {_busy(results)} "
        "The machine is shared and noisy: every figure is a median over repeated, alternated "
        "runs (A B A B), and every comparison is a ratio to a peer measured in the same run. "
        "Absolute numbers are shown for context, never asserted.",
        "",
    ]


def _busy(results: dict) -> str:
    """Other processes' share of the cores, overall and per section; a warning when it distorts."""
    share = results["machine"].get("others_share")
    if share is None:
        return "Other processes' use of the cores was not recorded."
    parts = [
        f"{name} {100 * results[name]['others_share']:.0f} %"
        for name in ("training", "engine", "http", "profile")
        if "others_share" in results.get(name, {})
    ]
    text = f"Other processes used {100 * share:.0f} % of the cores during the run"
    text += f" ({', '.join(parts)})." if parts else "."
    return text + (" **The machine was busy: these figures are distorted.**" if share > 0.1 else "")


def _sections(results: dict[str, Any], s: dict[str, Any], threads: str | None) -> list[str]:
    """The targets' verdicts, then every section in order, each from its own renderer."""
    return [
        "## Targets (issue 4; the last two from issue 3)",
        "",
        *table(
            ["target", "measured", "verdict"],
            [
                [v.target, v.measured, MARK[v.met]]
                for v in verdicts(s["training"], s["engine"], s["http"], threads, s["pairs"])
            ],
        ),
        "",
        "## Training",
        "",
        *training.lines(results.get("training", NOT_RUN), s["training_all"]),
        "",
        "## Engine",
        "",
        *engine.lines(results.get("engine", NOT_RUN), s["engine"]),
        "",
        "## HTTP",
        "",
        *http.lines(results.get("http", NOT_RUN), s["http"]),
        "",
        "## Pairs: our own variants against each other (issue 9)",
        "",
        *http.paired_lines(results.get("pairs", NOT_RUN)),
        "",
        "## Front: slow clients, drain, worker kill, hot swap (issue 8)",
        "",
        *front.lines(results.get("front", NOT_RUN), table, MARK, results.get("pairs", {})),
        "",
        "## What stands in the way of the missed targets",
        "",
        *analysis.lines(s, threads),
        "## Where our time goes",
        "",
        *profile.http_lines(results.get("profile", NOT_RUN), s["http"]),
        "",
        *profile.training_lines(results.get("training", {}).get("profile", {})),
        "",
    ]
