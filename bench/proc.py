"""Child processes: run a Python child for one JSON result; read CPU and memory from /proc.

Every process the bench starts is in its own session (process group) so that it, and anything it
forks, can be stopped together by group id and nothing is left running.
"""

import ipaddress
import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def single_thread_env(threads: int = 1, **extra: str) -> dict[str, str]:
    """The environment with every BLAS/OpenMP pool capped at `threads`, plus `extra` variables."""
    env = dict(os.environ)
    for var in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
    ):
        env[var] = str(threads)
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


def kill_group(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """Stop a child started with `start_new_session=True` and everything in its process group."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_json(
    argv: list[str], env: dict[str, str], timeout: float, cwd: Path = REPO
) -> dict[str, Any]:
    """Run a child that prints one `BENCH_RESULT {json}` line; return that JSON.

    Raises RuntimeError with the tail of stderr when the child fails or prints no result, and
    kills the child's whole group when it runs past `timeout` seconds.
    """
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        kill_group(proc, grace=2.0)
        raise RuntimeError(f"{' '.join(argv[:4])}: timed out after {timeout:.0f} s") from exc
    finally:
        kill_group(proc, grace=2.0)
    for line in out.splitlines():
        if line.startswith("BENCH_RESULT "):
            return json.loads(line.removeprefix("BENCH_RESULT "))
    tail = " | ".join(err.strip().splitlines()[-6:])
    raise RuntimeError(f"{' '.join(argv[:4])}: exit {proc.returncode}, no result: {tail}")


def process_tree(root: int) -> list[int]:
    """`root` and all its live descendants, parents first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop(0)
        tree.append(pid)
        todo.extend(sorted(children.get(pid, [])))
    return tree


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds consumed so far by `pids` (processes that vanished count 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
    return total / CLK_TCK


def memory_mib(pid: int) -> dict[str, float]:
    """Resident (RSS) and proportional (PSS, shared pages split among sharers) memory in MiB."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("Rss", "Pss"):
                out[key.lower()] = int(rest.split()[0]) / 1024
    except OSError:
        pass
    return out


def _decode_address(hex_addr: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    raw = bytes.fromhex(hex_addr)
    if len(raw) == 4:
        return ipaddress.IPv4Address(raw[::-1])
    # /proc/net/tcp6 prints the address as four host-order (little-endian) 32-bit words
    ip = ipaddress.IPv6Address(b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4)))
    return ip.ipv4_mapped or ip


def listening_addresses(pids: list[int]) -> list[str]:
    """Addresses (`ip:port`) of the TCP sockets in LISTEN state held open by any of `pids`."""
    inodes = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: TCP_LISTEN
                host, port = fields[1].split(":")
                found.append(f"{_decode_address(host)}:{int(port, 16)}")
    return found


def is_loopback(address: str) -> bool:
    """Whether an `ip:port` from `listening_addresses` is on the loopback range only.

    IPv4-mapped IPv6 listeners are already shown as their IPv4 address.
    """
    return ipaddress.ip_address(address.rsplit(":", 1)[0]).is_loopback
