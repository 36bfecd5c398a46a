"""The gunicorn worker class (``worker_class`` in ``service/gunicorn.conf.py``): gevent
connections, one read deadline per request, keep-alive, JSON for gunicorn's own errors.

Why gevent: a sync worker is held by one connection from accept to response, so two idle sockets
stopped a 2-worker service for 30 s. Here every connection is a greenlet, a slow client costs a
socket and a little memory, never a worker, and the worker keeps sending its heartbeat. The
measurements that chose it over gthread and a buffering proxy are in the README ("Connection
model and drain").

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
from importlib import metadata
from typing import Any

import gevent
import orjson
from gevent import events
from gunicorn.workers.ggevent import GeventWorker

from .drain import draining

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


class _Capture:
    """Stands in for the client socket while gunicorn renders one of its errors, so that its
    status line (gunicorn's mapping of its parser errors to 400/414/431/...) can be kept and its
    HTML body replaced."""

    def __init__(self) -> None:
        self.data = b""

    def gettimeout(self) -> float:
        return 0.0

    def sendall(self, data: bytes) -> None:
        self.data += data


def _json_error(client: DeadlineSocket, status: int, reason: str, message: str) -> None:
    body = orjson.dumps({"error": message, "details": {}})
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    with contextlib.suppress(Exception):  # the client is gone: nothing to tell it
        client.sendall(head.encode("latin-1") + body)
        client.linger()


def _close_when_asked(app):
    """WSGI wrapper: close the connection after this answer when draining or when the app says
    ``Connection: close`` (gunicorn drops that hop-by-hop header instead of obeying it); and send
    the answer's head with its body (:class:`DeadlineSocket`)."""

    def wrapped(environ, start_response):
        def start(status, headers, exc_info=None):
            response = getattr(start_response, "__self__", None)  # gunicorn's Response
            if response is not None and (
                draining()
                or any(k.lower() == "connection" and v.lower() == "close" for k, v in headers)
            ):
                response.force_close()
            if response is not None and isinstance(response.sock, DeadlineSocket):
                response.sock.hold()  # the head goes out with the body
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return wrapped


def _gevent_plugins() -> dict[str, list[metadata.EntryPoint]]:
    """gevent's plugin entry points by group, looked up once, in the master (see Worker.patch)."""
    found = metadata.entry_points()
    return {g: list(found.select(group=g)) for g in found.groups if g.startswith("gevent.")}


_GEVENT_PLUGINS = _gevent_plugins()


def _notify_from_cache(event: Any) -> None:
    """gevent's ``notify_and_call_entry_points`` with the entry points looked up in advance."""
    events.notify(event)
    for plugin in _GEVENT_PLUGINS.get(event.ENTRY_POINT_NAME, ()):
        plugin.load()(event)


class Worker(GeventWorker):
    """gunicorn's gevent worker with the read deadline, drain-aware keep-alive and JSON errors."""

    def patch(self) -> None:
        """Monkey-patch as gevent's worker does, with gevent's plugins looked up once in the
        master: gevent scans every installed package's entry points 25 times while patching,
        0.4-0.6 s of a new worker's start here, which kept a worker replacing a killed one from
        serving for 1.0-2.0 s (measured: kill a worker, probe until a new pid answers)."""
        events.notify_and_call_entry_points = _notify_from_cache
        super().patch()

    def load_wsgi(self) -> None:
        super().load_wsgi()
        self.wsgi = _close_when_asked(self.wsgi)
        self.read_timeout = read_timeout()

    def timeout_ctx(self):
        # gevent's worker bounds the wait for a request line by `keepalive` and closes silently;
        # DeadlineSocket does that and more.
        return contextlib.nullcontext()

    def handle(self, listener, client, addr) -> None:
        sock = DeadlineSocket(client, self, self.read_timeout, self.cfg.keepalive)
        super().handle(listener, sock, addr)

    def handle_request(self, listener_name, req, sock, addr) -> None:
        """Answer one request, then let the other connections have their turn.

        A kept-alive client that sends its next request at once finds it already in the socket,
        so without the ``gevent.sleep(0)`` its greenlet would never yield and would keep the
        worker while the other connections wait: at 8 keep-alive connections p99 was 250-290 ms
        against p50 1 ms (wrk, one-image JSON ``/predict``, 2 workers).
        """
        try:
            super().handle_request(listener_name, req, sock, addr)
        finally:
            sock.flush()  # a head without a body (HEAD, 204), or the end of a closing answer
        sock.request_done()
        gevent.sleep(0)

    def handle_error(self, req, client, addr, exc) -> None:
        """Answer gunicorn's own errors as JSON ``{"error": ..., "details": {}}``.

        gunicorn's ``handle_error`` keeps its logging, access log and choice of status; only its
        HTML body is replaced. A :class:`ReadTimeout` becomes 408 (or a silent close when idle).
        """
        if isinstance(exc, ReadTimeout):
            if exc.started:
                ip = addr[0] if addr else "-"
                self.log.warning("Request from ip=%s not in within %g s", ip, self.read_timeout)
                message = f"request not received in full within {self.read_timeout:g} s"
                _json_error(client, 408, "Request Timeout", message)
            return
        capture = _Capture()
        super().handle_error(req, capture, addr, exc)
        status_line = capture.data.split(b"\r\n", 1)[0].decode("latin-1")
        _, code, reason = [*status_line.split(" ", 2), "", ""][:3]
        status = int(code) if code.isdigit() else 500
        message = "internal server error" if status == 500 else f"{reason.lower()}: {exc}"
        _json_error(client, status, reason or "Internal Server Error", message)
