"""The client socket of one connection, for ``service/worker.py``: each request's read deadline,
the idle keep-alive wait, and each answer's head sent with its body.

Why a deadline on reads: gevent's worker otherwise waits for a request (and its body) for ever.
Each request must arrive in full -- request line, headers and body -- within ``read_timeout``
seconds of its first byte (of the accept, for a connection's first request); otherwise it is
answered 408 in JSON and the connection is closed. A kept-alive connection may stay idle for
``keepalive`` seconds between requests and is then closed without an answer, as any HTTP server
closes an idle connection. The deadline lives in :class:`DeadlineSocket`, which every read of the
request goes through (gunicorn's parser and the body stream the app reads).
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gunicorn.workers.ggevent import GeventWorker

# An idle kept-alive connection checks this often whether the worker is stopping, so a graceful
# stop is not held by connections that will never send another request.
_IDLE_SLICE = 0.5
# After an error answer, what is left of the request is read and dropped for this long.
_LINGER_SECONDS = 1.0
_LINGER_BYTES = 1024 * 1024


def read_timeout() -> float:
    """``MLPSERVE_READ_TIMEOUT`` in seconds (default 15): the time a request has to arrive."""
    raw = os.environ.get("MLPSERVE_READ_TIMEOUT", "")
    try:
        value = float(raw) if raw.strip() else 15.0
    except ValueError:
        value = -1.0
    if value <= 0:
        raise ValueError(f"MLPSERVE_READ_TIMEOUT must be a positive number, got {raw!r}")
    return value


class ReadTimeout(BaseException):
    """A request did not arrive in full before its deadline.

    A ``BaseException`` so that it passes through the app's ``except Exception`` handlers (the
    body is read inside the app) up to the worker, which answers 408. ``started`` says whether
    the request had begun (a fresh connection counts as begun); an idle kept-alive connection that
    times out is closed silently.
    """

    def __init__(self, started: bool):
        super().__init__("request not received in full before the read deadline")
        self.started = started


class DeadlineSocket:
    """A client socket whose reads of one request share one deadline (see the module doc), and
    whose answers leave in one send.

    gunicorn sends a response's head and its body with two ``sendall`` calls, and gevent's
    ``sendall`` adds a ``getsockopt`` and its chunking loop to each: per answer, two loopback
    segments, two wake-ups of the client and four system calls where one ``send`` does. So once
    the app has started its response (:meth:`hold`, from :func:`_close_when_asked`), the next
    send -- the head -- is held and goes out with the one after it, or at the latest when the
    request ends, the socket is read, shut down, closed or used for ``sendfile``; and a send
    tries one ``send`` before falling back to ``sendall``. One-image JSON ``/predict`` at 8
    connections, alternated 3 s wrk rounds, medians, the other core busy: server CPU per request
    0.743 -> 0.651 ms kept alive (1,288 -> 1,528 req/s), 0.947 -> 0.877 ms with ``Connection:
    close`` (1,005 -> 1,131 req/s). Everything else is the wrapped gevent socket's own.
    """

    def __init__(self, sock: Any, worker: GeventWorker, timeout: float, keepalive: float):
        self._sock = sock
        self._worker = worker
        self._timeout = timeout
        self._keepalive = keepalive
        self._idle = False
        self._deadline = time.monotonic() + timeout
        self._hold = False  # keep the next send's bytes for the one after it
        self._held = b""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def hold(self) -> None:
        """Keep the next send (a response's head) to go out with the one after it."""
        self._hold = True

    def flush(self) -> None:
        """Send what is held, if anything."""
        self._hold = False
        if self._held:
            data, self._held = self._held, b""
            self._send(data)

    def recv(self, size: int) -> bytes:
        self.flush()
        while True:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0 or (self._idle and not self._worker.alive):
                raise ReadTimeout(started=not self._idle)
            self._sock.settimeout(min(remaining, _IDLE_SLICE) if self._idle else remaining)
            try:
                data = self._sock.recv(size)
            except TimeoutError:
                continue
            if self._idle and data:  # the next request's first byte: its deadline starts
                self._idle = False
                self._deadline = time.monotonic() + self._timeout
            return data

    def sendall(self, data: bytes) -> None:
        if self._held:
            data, self._held = self._held + data, b""
        if self._hold:
            self._hold = False
            self._held = bytes(data)
            return
        self._send(data)

    def _send(self, data: bytes) -> None:
        # A client that does not read its answer is bounded like one that does not send.
        self._sock.settimeout(self._timeout)
        sent = self._sock.send(data)  # all of a small answer, in one system call
        if sent < len(data):
            self._sock.sendall(memoryview(data)[sent:])

    def sendfile(self, *args: Any, **kwargs: Any) -> int:
        self.flush()
        return self._sock.sendfile(*args, **kwargs)

    def shutdown(self, how: int) -> None:
        with contextlib.suppress(OSError):  # the client is gone: nothing to send it
            self.flush()
        self._sock.shutdown(how)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.flush()
        self._sock.close()

    def linger(self) -> None:
        """After an error answer: stop sending, then read (and drop) what the client still sends,
        for at most ``_LINGER_SECONDS`` and ``_LINGER_BYTES``. Closing with unread input makes the
        kernel send a reset, and the client would lose the answer."""
        end = time.monotonic() + _LINGER_SECONDS
        with contextlib.suppress(OSError):
            self.shutdown(socket.SHUT_WR)
            for _ in range(_LINGER_BYTES // 65536):
                remaining = end - time.monotonic()
                if remaining <= 0:
                    break
                self._sock.settimeout(remaining)
                if not self._sock.recv(65536):
                    break

    def request_done(self) -> None:
        """The answer went out: the connection is idle until the next request's first byte."""
        self.flush()
        self._idle = True
        self._deadline = time.monotonic() + self._keepalive
