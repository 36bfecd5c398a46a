"""The front section of BENCHMARKS.md: issue 8's targets as verdicts, then every figure."""

import statistics
from typing import Any

from bench.targets import Verdict, paired_check, times

MODES = {"keepalive": "keep-alive", "close": "`Connection: close`"}


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def throughput(section: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per server and mode: median req/s, p99 ms, server CPU ms per request; errors summed."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name, rec in section.get("throughput", {}).items():
        ok = [p for p in rec["passes"] if "error" not in p]
        out[name] = {"title": rec["title"], "passes": len(ok)}
        for mode in MODES:
            points = [p[mode] for p in ok]
            out[name][mode] = {
                "rps": _median([p["rps"] for p in points]),
                "p99_ms": _median([p["p99_us"] / 1e3 for p in points]),
                "cpu_ms": _median([p["server_cpu_ms_per_request"] for p in points]),
                "errors": sum(
                    p["errors_status"] + p["errors_read"] + p["errors_connect"] for p in points
                ),
            }
        out[name]["worker_timeouts"] = sum(p.get("worker_timeouts", 0) for p in ok)
    return out


def _verdict(target: str, measured: str | None, met: bool | None) -> Verdict:
    return Verdict(target, measured or "not measured", met if measured else None)


def _ratio_verdicts(s: dict[str, Any], pairs: dict[str, Any]) -> list[Verdict]:
    """Against the sync build and bare Flask, judged on the pairs section's alternated starts
    when measured (``ours_vs_PEER_MODE``), else on this section's medians."""
    out = []
    for peer, floor, what in (
        ("sync", 0.95, "the sync-worker build"),
        ("bare", 0.85, "bare Flask"),
    ):
        for mode, label in MODES.items():
            ours = s.get("ours", {}).get(mode, {}).get("rps")
            other = s.get(peer, {}).get(mode, {}).get("rps")
            out.append(
                paired_check(
                    f"one-image /predict, 8 conns, {label}: ≥ {floor:.2f}x {what}",
                    pairs.get(f"ours_vs_{peer}_{mode}"),
                    floor,
                    ours / other if ours and other else None,
                    lambda r, o=ours, p=other: f"{times(r)} ({o:,.0f} vs {p:,.0f} req/s)",
                )
            )
    return out


def verdicts(section: dict[str, Any], pairs: dict[str, Any]) -> list[Verdict]:
    """Issue 8's targets, in its order, judged on this section's figures (and the pairs
    section's, for the sync build)."""
    slow, drain = section.get("slow", {}), section.get("drain", {})
    kill, swap = section.get("kill", {}), section.get("swap", {})
    out = []
    probes = slow.get("probes")
    if probes:
        h, p = probes["health"], probes["predict"]
        measured = (
            f"/health p99 {h['p99_ms']:.1f} ms ({h['ok']}/{h['count']} ok), /predict p99 "
            f"{p['p99_ms']:.1f} ms ({p['ok']}/{p['count']} ok), "
            f"{slow['worker_timeouts']} worker timeouts, {slow['open_at_end']} slow open at the end"
        )
        met = (
            max(h["p99_ms"], p["p99_ms"]) <= 100
            and h["ok"] == h["count"]
            and p["ok"] == p["count"]
            and slow["worker_timeouts"] == 0
        )
    else:
        measured, met = None, None
    out.append(
        _verdict("256 slow connections: probes p99 ≤ 100 ms, 0 worker timeouts", measured, met)
    )
    out += _ratio_verdicts(throughput(section), pairs)
    ok = "failed" in drain
    out.append(
        _verdict(
            "SIGTERM under load, client leaves at /ready 503: 0 failed requests",
            f"{drain['failed']} failed of {drain['ok'] + drain['failed']}; /ready 503 after "
            f"{drain['ready_503_after_s'] * 1e3:.0f} ms; exit after {drain['exit_after_s']:.1f} s"
            if ok
            else None,
            ok and drain["failed"] == 0,
        )
    )
    ok = "failed" in kill and kill.get("new_worker_serving_after_s") is not None
    out.append(
        _verdict(
            "worker SIGKILL under load: lost ≤ its in-flight, new worker serving ≤ 1 s",
            f"{kill['failed']} lost (≤ {kill['connections_on_killed_worker']} connections on it); "
            f"new worker serving after {kill['new_worker_serving_after_s']:.2f} s"
            if ok
            else None,
            ok
            and kill["failed"] <= kill["connections_on_killed_worker"]
            and kill["new_worker_serving_after_s"] <= 1.0,
        )
    )
    ok = "failed" in swap
    versions = set(swap.get("versions_after", []))
    allowed = set(swap.get("versions_before", [])) | {swap.get("new_version")}
    out.append(
        _verdict(
            "hot swap of mnist.npz under 8 conns: 0 failed, old or new only, only new after 2 s",
            f"{swap['failed']} failed of {swap['ok'] + swap['failed']}; versions after the swap "
            f"{', '.join(sorted(versions))}; last old answer "
            f"{swap['last_old_answer_after_s'] or 0:.2f} s after it"
            if ok
            else None,
            ok
            and swap["failed"] == 0
            and versions <= allowed
            and swap["new_version"] in versions
            and swap["old_answers_after_2s"] == 0,
        )
    )
    return out


def lines(section: dict[str, Any], table, mark: dict, pairs: dict[str, Any]) -> list[str]:
    """The section's Markdown: method, targets, the throughput table, the scenarios' errors."""
    if "error" in section:
        return [f"Not measured: {section['error']}"]
    s = throughput(section)
    out = [
        f"Measured {section['date_utc']} (`python -m bench --sections front`). One-image JSON "
        "`POST /predict` at 8 connections with wrk, keep-alive and with `Connection: close` on "
        "every request, in alternated passes over: ours (gevent workers, `service/worker.py`); "
        f"the sync-worker build of the commit before issue 8 ({section['sync_commit']}, "
        "extracted with `git archive` under bench/.work); bare Flask under our gunicorn config "
        "(the ceiling). The sync build closes every connection whatever the client asks. Then, "
        "against ours alone: 256 slow connections (zero bytes, header drip, body drip; reopened "
        "when closed) while `/health` and a one-image `/predict` are probed in turn on fresh "
        "connections; SIGTERM under 8-connection load with clients that stop at the first "
        "`/ready` 503; SIGKILL of a worker under the same load; a hot swap of `mnist.npz`."
        + _busy(section.get("others_share")),
        "",
        *table(
            ["target (issue 8)", "measured", "verdict"],
            [[v.target, v.measured, mark[v.met]] for v in verdicts(section, pairs)],
        ),
        "",
    ]
    rows = []
    for rec in s.values():
        for mode, label in MODES.items():
            r = rec[mode]
            if r["rps"] is None:
                continue
            rows.append(
                [
                    rec["title"],
                    label,
                    f"{r['rps']:,.0f}",
                    f"{r['p99_ms']:.1f}",
                    f"{r['cpu_ms']:.3f}",
                    str(r["errors"]),
                    str(rec["passes"]),
                ]
            )
    out += table(
        ["server", "connections", "req/s", "p99 ms", "server CPU ms/req", "errors", "passes"],
        rows,
    )
    out += ["", *_slow_sync(section.get("slow_sync", {}))]
    for name in ("slow", "slow_sync", "drain", "kill", "swap"):
        if "error" in section.get(name, {}):
            out += ["", f"- **{name}**: {section[name]['error']}"]
    return out


def _slow_sync(rec: dict[str, Any]) -> list[str]:
    """One sentence: the same 256 slow connections against the sync-worker build."""
    probes = rec.get("probes")
    if not probes:
        return []
    h, p = probes["health"], probes["predict"]
    return [
        "The same 256 slow connections against the sync-worker build, for context: "
        f"{h['count']} `/health` probes fit in the window ({h['ok']} answered, max "
        f"{h['max_ms']:,.0f} ms), {p['count']} `/predict` ({p['ok']} answered, max "
        f"{p['max_ms']:,.0f} ms); {rec['worker_timeouts']} worker timeouts."
    ]


def _busy(share: float | None) -> str:
    """Other processes' use of the cores during the section; a warning when it distorts."""
    if share is None:
        return ""
    text = f" Other processes used {100 * share:.0f} % of the cores during this section."
    if share > 0.1:
        text += (
            " **The machine was busy: req/s and CPU per request are distorted; the ratios "
            "are only indicative (correctness rows are not affected).**"
        )
    return text
