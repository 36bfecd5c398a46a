"""Child process: hold N slow connections open against a server while probes measure it.

`python -m bench.front.slow --port P --conns 256 --seconds 10 --body FILE`. A third of the
connections send nothing (zero bytes), a third drip a request's headers one byte at a time, a third
send complete headers and then drip the body; one that the server closes is opened again at once,
so N stay open for the whole window. Meanwhile two probes run in turn on fresh connections, as a
load balancer's would: `GET /health` and a one-image JSON `POST /predict`. Prints one
`BENCH_RESULT` line: the probes' latencies (ms) and statuses, how many slow connections were open
at the end, how many the server closed and how it answered them.
"""

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from bench.timing import emit

_DRIP_SECONDS = 0.5  # one byte every half second
_HEADERS = b"POST /predict HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"


async def _read_answer(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 answer with a Content-Length; its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = (h.partition(":") for h in lines[1:])
    length = next((int(v) for k, _, v in fields if k.lower() == "content-length"), 0)
    await reader.readexactly(length)
    return int(lines[0].split()[1])


async def _slow(port: int, kind: str, body_len: int, end: float, stats: dict) -> None:
    """One slow client of `kind`, reconnecting when closed, until `end`."""
    data = {
        "zero": b"",
        "headers": _HEADERS + f"Content-Length: {body_len}\r\n\r\n".encode(),
        "body": b"{" * body_len,
    }[kind]
    prefix = _HEADERS + f"Content-Length: {body_len}\r\n\r\n".encode() if kind == "body" else b""
    while time.monotonic() < end:
        writer = None
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            stats["open"] += 1
            writer.write(prefix)
            sent = 0
            while time.monotonic() < end:
                if sent < len(data):
                    writer.write(data[sent : sent + 1])
                    sent += 1
                try:
                    chunk = await asyncio.wait_for(reader.read(4096), _DRIP_SECONDS)
                except TimeoutError:
                    continue
                if chunk.startswith(b"HTTP/1.1 "):
                    status = chunk[9:12].decode()
                    stats["answers"][status] = stats["answers"].get(status, 0) + 1
                stats["closed_by_server"] += 1
                break
        except OSError:
            stats["connect_errors"] += 1
            await asyncio.sleep(0.05)
        finally:
            if writer is not None:
                stats["open"] -= 1
                writer.close()


async def _probe(port: int, request: bytes) -> tuple[int, float]:
    t0 = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(request)
            status = await asyncio.wait_for(_read_answer(reader), 10.0)
        finally:
            writer.close()
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
        status = 0
    return status, 1e3 * (time.perf_counter() - t0)


def _summary(samples: list[tuple[int, float]]) -> dict:
    ms = sorted(m for _, m in samples)
    return {
        "count": len(samples),
        "ok": sum(1 for s, _ in samples if s == 200),
        "p50_ms": statistics.median(ms) if ms else None,
        "p99_ms": ms[min(len(ms) - 1, int(0.99 * len(ms)))] if ms else None,
        "max_ms": ms[-1] if ms else None,
    }


async def _main(port: int, conns: int, seconds: float, body: bytes) -> dict:
    stats = {"open": 0, "closed_by_server": 0, "connect_errors": 0, "answers": {}}
    end = time.monotonic() + seconds
    kinds = ("zero", "headers", "body")
    tasks = [
        asyncio.create_task(_slow(port, kinds[i % 3], len(body), end, stats)) for i in range(conns)
    ]
    await asyncio.sleep(min(2.0, seconds / 4))  # let them all connect first
    opened = stats["open"]
    health = b"GET /health HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
    predict = _HEADERS + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body
    probes: dict[str, list] = {"health": [], "predict": []}
    while time.monotonic() < end - 0.5:
        probes["health"].append(await _probe(port, health))
        probes["predict"].append(await _probe(port, predict))
        await asyncio.sleep(0.02)
    open_at_end = stats["open"]
    await asyncio.gather(*tasks)
    return {
        "connections": conns,
        "open_after_connecting": opened,
        "open_at_end": open_at_end,
        "closed_by_server": stats["closed_by_server"],
        "server_answers": stats["answers"],
        "connect_errors": stats["connect_errors"],
        "probes": {name: _summary(s) for name, s in probes.items()},
    }


def main() -> None:
    """Parse the flags, run the window, print the result."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--conns", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--body", type=Path, required=True)
    args = parser.parse_args()
    emit(asyncio.run(_main(args.port, args.conns, args.seconds, args.body.read_bytes())))


if __name__ == "__main__":
    main()
