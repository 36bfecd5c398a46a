"""The gunicorn worker class (``worker_class`` in ``service/gunicorn.conf.py``): gevent
connections, one read deadline per request, keep-alive, JSON for gunicorn's own errors.

Why gevent: a sync worker is held by one connection from accept to response, so two idle sockets
stopped a 2-worker service for 30 s. Here every connection is a greenlet, a slow client costs a
socket and a little memory, never a worker, and the worker keeps sending its heartbeat. The
measurements that chose it over gthread and a buffering proxy are in the README ("Connection
model and drain").

The read deadline on every request is in ``service/deadline.py``; connections run on the
long-lived handler greenlets of ``service/handlers.py``.
"""

from __future__ import annotations

import contextlib
from importlib import metadata
from typing import Any

import gevent
import orjson
from gevent import events
from gunicorn.workers import ggevent
from gunicorn.workers.ggevent import GeventWorker

from .deadline import DeadlineSocket, ReadTimeout, read_timeout
from .drain import draining
from .handlers import HandlerPool


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

    def run(self) -> None:
        # gunicorn's run() builds each listener's connection pool from this name.
        ggevent.Pool = HandlerPool
        super().run()

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
