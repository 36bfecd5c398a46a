"""The HTTP section of BENCHMARKS.md: every server under wrk at each payload and connection
count, then each server's start time, memory and label check, and the charts' places."""

from bench import summary
from bench.models import shape_text
from bench.report.format import error_lines, number, ratio, table

POINT_HEADER = [
    "server",
    "req/s",
    "ours ÷ server",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "non-2xx / socket errors",
    "server CPU ms/req",
    "wrk's share of the machine",
]
SERVER_HEADER = [
    "server",
    "start to ready, s",
    "workers",
    "RSS/worker, MiB",
    "PSS/worker, MiB",
    "other processes RSS, MiB",
    "label check",
    "passes",
]


def lines(section: dict, s: dict) -> list[str]:
    """The section's Markdown: method, one table per load point, the per-server table, charts.

    `section` is the run's raw HTTP results, `s` their summary per server
    (:func:`bench.summary.http`). The charts' paths are the placeholders THROUGHPUT and LATENCY.
    """
    if "error" in section:
        return [f"Not measured: {section['error']}"]
    out = [_method(section)]
    for payload, conns in section["points"]:
        out += _point(s, payload, conns)
    out += _per_server(s)
    for name in s:
        out += error_lines(name, s[name]["errors"])
    return out


def _worker_kind(section: dict) -> str:
    """`sync` or `gevent`: the worker class our server ran (runs before issue 8 did not log it)."""
    passes = section.get("servers", {}).get("ours", {}).get("passes", [])
    logged = next((p["gunicorn_worker"] for p in passes if p.get("gunicorn_worker")), "sync")
    return "sync" if logged == "sync" else "gevent"


def _connections(kind: str) -> str:
    """Whether wrk reconnects for every request, which costs it a share of the machine."""
    if kind == "sync":
        return (
            "gunicorn's sync workers close the connection after each answer, so wrk reconnects "
            "for every request to ours and to bare Flask; KServe and MLServer keep connections "
            "alive."
        )
    return "Every server here keeps connections alive (`Connection: close`: see Front below)."


def _method(section: dict) -> str:
    """The paragraph on the model, the servers' settings and how the load was made."""
    model = section["model"]
    kind = "the shipped model" if model["shipped"] else "a random stand-in of the mnist-seed shape"
    return (
        f"Model `mnist` ({'-'.join(str(v) for v in model['layer_sizes'])}, {kind}). Every server "
        "listens on 127.0.0.1 only, runs 2 worker processes with BLAS/OpenMP threads = 1 and "
        "the same NumPy forward pass (ours: our engine; peers: `bench/peers/forward.py`). "
        "Ours and the bare ceiling run under the same gunicorn config (`service/gunicorn.conf.py`,"
        f" {_worker_kind(section)} workers, access log on); KServe 0.21 runs `--workers 2` with "
        "V1 `:predict` and "
        "its per-request latency log off; MLServer 1.7 runs a custom runtime over V2 `/infer` "
        "with debug logging and the metrics server off "
        "(`parallel_workers=0` is one process: its fastest setting here; `parallel_workers=2` "
        "adds two inference processes behind the HTTP process). Load: wrk 4.1 with a Lua script "
        f"POSTing the body, {section['seconds_per_point']:.0f} s per point after a warm-up, "
        f"{section['passes']} alternated passes over the servers, medians. **wrk runs on the "
        "same 2 cores as the server**, so req/s understates every server; the server's CPU time "
        "per request (from /proc, all its processes) does not depend on that contention, and "
        "the last column shows the share of the machine wrk itself used. "
        + _connections(_worker_kind(section))
    )


def _point(s: dict, payload: str, conns: int) -> list[str]:
    """The table of one load point (payload `single` or `batch64`, `conns` connections)."""
    key = summary.point_key(payload, conns)
    ours = s.get("ours", {}).get("points", {}).get(key, {})
    per_image = 64 if payload == "batch64" else 1
    rows = []
    for name, rec in s.items():
        p = rec["points"].get(key)
        if p is None:
            continue
        rows.append(
            [
                rec["title"],
                f"{p['rps']:,.0f}"
                + (f" ({p['rps'] * per_image:,.0f} img/s)" if per_image > 1 else ""),
                "1.00x" if name == "ours" else ratio(ours.get("rps"), p["rps"]),
                f"{p['p50_ms']:.2f}",
                f"{p['p90_ms']:.2f}",
                f"{p['p99_ms']:.2f}",
                f"{p['non2xx']} / {p['socket_errors']}",
                f"{p['server_cpu_ms_per_request']:.3f}",
                f"{100 * p['client_machine_share']:.0f} %",
            ]
        )
    what = "one image" if payload == "single" else "a batch of 64 images"
    return [
        "",
        f"**{what} per request, {conns} connection{'' if conns == 1 else 's'}:**",
        "",
        *table(POINT_HEADER, rows),
    ]


PAIRS = {
    "v2_binary_vs_predict": "V2 binary ÷ `/predict` JSON (one start, routes alternated)",
    "metrics_on_vs_off": "metrics on ÷ `MLPSERVE_METRICS=0` (starts alternated)",
    "ours_vs_sync_keepalive": "ours ÷ the sync-worker build, keep-alive (starts alternated)",
    "ours_vs_sync_close": "ours ÷ the sync-worker build, `Connection: close` (starts alternated)",
    "ours_vs_bare_keepalive": "ours ÷ bare Flask, keep-alive (starts alternated)",
    "ours_vs_bare_close": "ours ÷ bare Flask, `Connection: close` (starts alternated)",
    "ours_vs_light_model": f"ours ÷ ours serving a {shape_text()} model, keep-alive: the "
    "forward pass's share (starts alternated)",
}


def paired_lines(paired: dict) -> list[str]:
    """The pairs section: the A/B pairs of our own variants (:mod:`bench.http.paired`)."""
    if "error" in paired:
        return [f"Not measured: {paired['error']}"]
    rows = []
    for key, title in PAIRS.items():
        pair = paired.get(key, {"error": "not measured"})
        if "error" in pair:
            rows.append([title, pair["error"], "", ""])
            continue
        rows.append(
            [
                title,
                f"{pair['rps_ratio']:.3f} ({pair['rps_range'][0]:.3f}-{pair['rps_range'][1]:.3f})",
                f"{pair['cpu_ratio']:.3f} ({pair['cpu_range'][0]:.3f}-{pair['cpu_range'][1]:.3f})",
                str(len(pair["pairs"])),
            ]
        )
    return [
        f"One image, 8 connections, {paired['seconds']:.0f} s a side, {paired['rounds']} pairs; "
        "each pair's ratio, then their median and range (CPU: the second's server CPU per "
        "request ÷ the first's, so above 1 means the first is cheaper). Two starts of the "
        "same build differ by up to ±10 % in req/s here, more than these targets' width, so "
        "the targets between two servers or routes are judged on paired runs "
        "(`bench/http/paired.py`, `python -m bench --sections pairs`); the verdicts against "
        "the sync build and bare Flask are in the Front section:",
        "",
        *table(["comparison", "req/s ratio", "CPU ratio", "pairs"], rows),
    ]


def _per_server(s: dict) -> list[str]:
    """Each server's start to ready, workers, memory and label check; then the two charts."""
    rows = [
        [
            r["title"],
            number(r["ready_seconds"], ".2f"),
            number(r["workers"], ".0f"),
            number(r["worker_rss_mib"], ".0f"),
            number(r["worker_pss_mib"], ".0f"),
            number(r["other_processes_rss_mib"], ".0f"),
            ("ok" if r["labels_checked"] else "status 200 (constant answer)")
            if r["checks_ok"]
            else "**wrong or failed**",
            str(r["passes"]),
        ]
        for r in s.values()
    ]
    return [
        "",
        "**Per server** (start to ready: process start to the first 200 from its readiness "
        "endpoint; memory after the load, per worker process, i.e. per process that did the "
        "work; PSS splits shared pages among the processes sharing them; label check: one "
        "single-image and one 64-image answer compared with the labels of the reference forward "
        "pass):",
        "",
        *table(SERVER_HEADER, rows),
        "",
        "![throughput](THROUGHPUT)",
        "",
        "![latency](LATENCY)",
    ]
