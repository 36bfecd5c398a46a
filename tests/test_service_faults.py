"""Fault tests against the real gunicorn on 127.0.0.1: slow clients, the read deadline, gunicorn's
own errors as JSON, keep-alive, the drain on SIGTERM and a worker killed with SIGKILL.

They check correctness, never timing: every wait is a bounded loop or a socket timeout, and a
server that would starve (sync workers held by the slow sockets) fails them through those bounds.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import live
from service.engine import load_model

HEADERS = b"POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"


def _request(
    server: live.Server, method: str, path: str, body: bytes | None = None
) -> tuple[int, dict, dict]:
    """One request on a fresh connection: status, headers (lower-case names), JSON body."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, path, body, {"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        headers = {k.lower(): v for k, v in resp.getheaders()}
        return resp.status, headers, json.loads(data)
    finally:
        conn.close()


def _raw(server: live.Server, data: bytes) -> bytes:
    """Send raw bytes on a fresh connection; everything the server sends until it closes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(data)
        return _read_to_close(s)


def _read_to_close(s: socket.socket) -> bytes:
    out = b""
    for _ in range(1000):  # bounded: each recv waits at most the socket's timeout
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    return out


def _split(answer: bytes) -> tuple[int, dict]:
    """Status and JSON body of one raw HTTP answer."""
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def _start(model_dir: Path, log: Path, **env: str) -> live.Server:
    """A live server that stops at once on SIGTERM unless the test sets a drain."""
    return live.start(model_dir, log, env={"MLPSERVE_DRAIN_SECONDS": "0", **env})


def _workers(master: int) -> set[int]:
    """Pids of the master's live children (its workers)."""
    pids = set()
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(stat[1]) == master and stat[0] != "Z":
            pids.add(int(entry.name))
    return pids


@pytest.fixture(scope="module")
def server(served_models, tmp_path_factory) -> Iterator[live.Server]:
    log = tmp_path_factory.mktemp("logs") / "faults.log"
    s = _start(
        served_models, log, MLPSERVE_READ_TIMEOUT="1", GUNICORN_KEEPALIVE="1", GUNICORN_TIMEOUT="5"
    )
    yield s
    live.stop(s)


@pytest.fixture(scope="module")
def digit(mnist_digits, mnist_npz) -> tuple[bytes, int]:
    """A one-image JSON body and the label our engine gives it."""
    images, _ = mnist_digits
    image = np.asarray(images[0], dtype=np.int64).reshape(784)
    label = int(load_model(mnist_npz).forward(image[None].astype(np.float32))[0].argmax())
    return json.dumps({"images": [image.tolist()]}).encode(), label


def _slow_sockets(port: int, per_kind: int) -> list[socket.socket]:
    """Open `per_kind` connections of each slow kind: zero bytes, half the headers, half a body."""
    sent = (b"", HEADERS[:20], HEADERS + b"Content-Length: 1000\r\n\r\n" + b"{" * 10)
    out = []
    for data in sent:
        for _ in range(per_kind):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(data)
            out.append(s)
    return out


def test_slow_connections_leave_the_probes_answered(server, digit):
    body, label = digit
    slow = _slow_sockets(server.port, 16)  # 48 slow clients on 2 workers
    try:
        for _ in range(5):
            assert _request(server, "GET", "/health")[0] == 200
            status, _, answer = _request(server, "POST", "/predict", body)
            assert status == 200
            assert answer["predictions"][0]["label"] == label
    finally:
        for s in slow:
            s.close()
    assert "WORKER TIMEOUT" not in server.log.read_text()


@pytest.mark.parametrize(
    "sent",
    [b"", HEADERS[:30], HEADERS + b"Content-Length: 100\r\n\r\n" + b'{"images": [[0'],
    ids=["zero-bytes", "header-drip", "stalled-body"],
)
def test_a_request_not_in_within_the_read_deadline_gets_408_json_and_a_close(server, sent):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(sent)
        answer = _read_to_close(s)  # returns only because the server closes
    status, payload = _split(answer)
    assert status == 408
    assert payload == {"error": "request not received in full within 1 s", "details": {}}
    assert b"Connection: close" in answer


@pytest.mark.parametrize(
    ("sent", "status"),
    [
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414),
        (b"GET /health HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431),
        (b"\x16\x03\x01 garbage\r\n\r\n", 400),
        (b"GET /health HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n", 400),
    ],
    ids=["long-request-line", "huge-header", "garbage", "bad-header-name"],
)
def test_gunicorns_own_errors_are_json(server, sent, status):
    answer = _raw(server, sent)
    got, payload = _split(answer)
    assert got == status
    assert b"Content-Type: application/json" in answer
    assert set(payload) == {"error", "details"} and payload["details"] == {}
    assert isinstance(payload["error"], str) and payload["error"]


def test_keep_alive_serves_several_requests_on_one_connection(server, digit):
    body, label = digit
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", "/health")
        first = conn.getresponse()
        first.read()
        sock = conn.sock
        conn.request("POST", "/predict", body, {"Content-Type": "application/json"})
        second = conn.getresponse()
        answer = json.loads(second.read())
        assert first.getheader("Connection") == "keep-alive"
        assert conn.sock is sock  # not reconnected
        assert answer["predictions"][0]["label"] == label
    finally:
        conn.close()


def test_an_idle_kept_alive_connection_is_closed_without_an_answer(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        answer = _read_to_close(s)  # the answer, then nothing once the keep-alive (1 s) ends
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.count(b"HTTP/1.1") == 1


def test_answers_with_and_without_bodies_arrive_whole_on_one_connection(server, digit):
    """The worker holds each answer's head to send it with the body (service/worker.py): a
    head with no body (HEAD), a sendfile body (a docs asset), JSON and a closing answer all
    arrive whole and in order on one pipelined connection."""
    from service.openapi import static_dir

    body, label = digit
    asset = (Path(static_dir()) / "favicon-32x32.png").read_bytes()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(
            b"HEAD /health HTTP/1.1\r\nHost: t\r\n\r\n"
            b"GET /docs/static/favicon-32x32.png HTTP/1.1\r\nHost: t\r\n\r\n"
            + HEADERS + b"Content-Length: %d\r\n\r\n" % len(body) + body
            + b"GET /nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        )  # fmt: skip
        rest = _read_to_close(s)
    answers = []
    for has_body in (False, True, True, True):
        head, _, rest = rest.partition(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        n = length if has_body else 0
        answers.append((int(head.split()[1]), rest[:n]))
        rest = rest[n:]
    assert rest == b""
    assert [status for status, _ in answers] == [200, 200, 200, 404]
    assert answers[1][1] == asset
    assert json.loads(answers[2][1])["predictions"][0]["label"] == label
    assert "no route /nope" in json.loads(answers[3][1])["error"]


def _drain_and_close(server: live.Server, body: bytes, label: int) -> None:
    """SIGTERM; /ready turns 503 while /predict still answers (closing its connection); then
    the listener closes."""
    server.proc.send_signal(signal.SIGTERM)
    for _ in range(100):  # the master handles the signal in its loop: a moment, not a drain
        status, headers, payload = _request(server, "GET", "/ready")
        if status == 503:
            break
        time.sleep(0.01)
    assert status == 503
    assert payload["status"] == "not ready"
    status, headers, answer = _request(server, "POST", "/predict", body)
    assert status == 200 and answer["predictions"][0]["label"] == label
    assert headers["connection"] == "close"  # keep-alive clients move away
    for _ in range(200):  # up to ~10 s: the drain ends, the listener closes
        try:
            _request(server, "GET", "/health")
        except ConnectionRefusedError:
            return
        except ConnectionResetError:  # queued in the backlog as the listener closed: try again
            pass
        time.sleep(0.05)
    pytest.fail("the listener did not close after the drain")


def test_sigterm_drains_then_finishes_in_flight_requests_and_exits(served_models, tmp_path, digit):
    body, label = digit
    server = _start(
        served_models,
        tmp_path / "drain.log",
        MLPSERVE_DRAIN_SECONDS="1",
        MLPSERVE_READ_TIMEOUT="20",
    )
    try:
        # A request in flight across the whole stop: headers and half its body now, the rest
        # only once the listener has closed (after the drain).
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as inflight:
            length = f"Content-Length: {len(body)}\r\n\r\n".encode()
            inflight.sendall(HEADERS + length + body[: len(body) // 2])
            _drain_and_close(server, body, label)
            inflight.sendall(body[len(body) // 2 :])
            got, payload = _split(_read_to_close(inflight))
        assert got == 200 and payload["predictions"][0]["label"] == label
        assert server.proc.wait(timeout=20) == 0
    finally:
        live.stop(server)


def test_a_killed_worker_is_replaced_and_the_service_goes_on(server, digit):
    body, label = digit
    before = _workers(server.proc.pid)
    assert len(before) == 2
    os.kill(min(before), signal.SIGKILL)
    new = set()
    for _ in range(200):  # up to ~10 s
        status, headers, _ = _request(server, "GET", "/health")
        pid = int(headers["x-request-id"].split("-")[0], 16)
        if status == 200 and pid not in before:
            new.add(pid)
            break
        time.sleep(0.05)
    assert new, "no new worker answered"
    status, _, answer = _request(server, "POST", "/predict", body)
    assert status == 200 and answer["predictions"][0]["label"] == label
