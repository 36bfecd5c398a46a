"""The "Where our time goes" section of BENCHMARKS.md: where one JSON /predict of ours spends
its server CPU (the budget against bare Flask, in-process stages, py-spy), and one training epoch
under cProfile."""

from bench.report.format import table


def http_lines(section: dict, http: dict) -> list[str]:
    """Where one JSON /predict of ours spends its time: the CPU budget, stages, py-spy layers.

    `section` is the run's raw profile results, `http` the HTTP summary the budget is read from.
    """
    if "error" in section:
        return [f"Not measured: {section['error']}"]
    return [
        *_budget(http),
        *_stages(section.get("stages_us", {})),
        *_pyspy(section.get("pyspy", {})),
    ]


def _budget(http: dict) -> list[str]:
    """Server CPU per request at 8 connections, ours against bare Flask, and what 0.80x allows."""
    ours = http.get("ours", {}).get("points", {}).get("single@8", {})
    bare = http.get("bare", {}).get("points", {}).get("single@8", {})
    b, o = bare.get("server_cpu_ms_per_request"), ours.get("server_cpu_ms_per_request")
    if not (b and o):
        return []
    return [
        f"**The budget.** At 8 connections bare Flask costs {b * 1e3:.0f} µs of server CPU "
        f"per request (gunicorn, the kernel's socket work, Flask, the access log) and ours "
        f"{o * 1e3:.0f} µs. Everything the two share scales both alike, so 0.80x the "
        f"ceiling leaves ours at most 0.25 x {b * 1e3:.0f} = {250 * b:.0f} µs of extra "
        f"work per request; ours adds {(o - b) * 1e3:.0f} µs.",
        "",
    ]


def _stages(stages: dict) -> list[str]:
    """The in-process stage timings' table, with what our view adds to bare Flask."""
    if "error" in stages:
        return [f"Stage timings not measured: {stages['error']}", ""]
    if not stages:
        return []
    rows = [[name, f"{rec['median']:.1f}"] for name, rec in stages.items()]
    whole = [rec["median"] for name, rec in stages.items() if name.startswith("whole app")]
    if len(whole) == 2:
        rows.append(["what our view adds to bare Flask (difference)", f"{whole[0] - whole[1]:.1f}"])
    return [
        "**In-process stage timings** (one single-image JSON request, 1 thread, medians of "
        "blocks of calls; the whole-app rows call each Flask app through WSGI without a "
        "socket or gunicorn):",
        "",
        *table(["stage", "µs"], rows),
        "",
    ]


def _pyspy(spy: dict) -> list[str]:
    """The py-spy samples of one worker under load: the share per layer, the top functions."""
    if "error" in spy:
        return [f"py-spy profile not taken: {spy['error']}"]
    if not spy:
        return []
    return [
        f"**py-spy, one of our workers at {spy['connections']} connections** "
        f"({spy['samples']} samples over {spy['seconds']:.0f} s, taken only while the worker "
        "holds the GIL: Python and the NumPy it calls, not the socket system calls, whose "
        "kernel time the bare ceiling pays too). Each sample goes to the layer of its "
        "innermost recognised frame:",
        "",
        *table(
            ["layer", "share of samples"],
            [[k, f"{100 * v:.1f} %"] for k, v in spy["layers"].items()],
        ),
        "",
        "Innermost functions with the most samples: "
        + ", ".join(f"`{k}` {100 * v:.1f} %" for k, v in spy["top_functions"][:8])
        + ".",
    ]


def training_lines(section: dict) -> list[str]:
    """The cProfile table of one epoch of ours, the functions with the most own time."""
    if not section:
        return []
    if "error" in section:
        return [f"Training profile not measured: {section['error']}", ""]
    total = section["profiled_seconds"]
    rows = [
        [
            f"`{f['function']}`",
            f"{f['calls']:,}",
            f"{f['seconds']:.3f}",
            f"{f['seconds'] / total:.1%}",
        ]
        for f in section["functions"]
    ]
    return [
        f"**One training epoch of ours under cProfile** ({section['threads']} BLAS threads; "
        f"{total:.2f} s profiled, of which the epoch itself {section['epoch_seconds']:.2f} s "
        "with cProfile's own cost per Python call). Own time per function: NumPy's ufuncs and "
        "matrix products count in the function that calls them, so `forward_train` holds the "
        "forward products and `backward` the backward ones; `update` is the SGD step.",
        "",
        *table(["function", "calls", "seconds", "share"], rows),
        "",
    ]
