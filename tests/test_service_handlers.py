"""The handler pool (service/handlers.py): the connection bound, handler reuse, join and kill;
and, against the real gunicorn, that ``GUNICORN_WORKER_CONNECTIONS`` still bounds a worker."""

from __future__ import annotations

import socket

import gevent
from gevent.event import Event

import live
from service.handlers import IDLE_HANDLERS, HandlerPool


def _job(started: list, release: Event) -> None:
    started.append(gevent.getcurrent())
    release.wait(5)


def test_the_pool_is_full_at_its_size_and_frees_its_slots_as_connections_end():
    pool, release, started = HandlerPool(2), Event(), []
    pool.spawn(_job, started, release)
    pool.spawn(_job, started, release)
    gevent.sleep(0)
    assert (len(pool), pool.free_count(), pool.full()) == (2, 0, True)
    release.set()
    assert pool.join(5)
    assert (len(pool), pool.free_count(), pool.full()) == (0, 2, False)


def test_a_handler_serves_the_next_connection_once_its_own_has_ended():
    pool, release, started = HandlerPool(4), Event(), []
    release.set()
    for _ in range(3):
        pool.spawn(_job, started, release)
        assert pool.join(5)
    assert len(set(started)) == 1


def test_handlers_beyond_the_idle_bound_exit():
    pool, release, started = HandlerPool(IDLE_HANDLERS + 8), Event(), []
    for _ in range(IDLE_HANDLERS + 8):
        pool.spawn(_job, started, release)
    release.set()
    assert pool.join(5)
    gevent.sleep(0)
    assert sum(not g.dead for g in started) == IDLE_HANDLERS


def test_kill_ends_the_connections_in_progress():
    pool, release, started = HandlerPool(2), Event(), []
    pool.spawn(_job, started, release)
    gevent.sleep(0)
    assert not pool.join(0.01)
    pool.kill(timeout=5)
    assert started[0].dead and len(pool) == 0 and pool.free_count() == 2


def _answered(port: int, timeout: float) -> bool:
    """Whether a /health request on a new connection is answered within `timeout` seconds."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        try:
            return s.recv(64).startswith(b"HTTP/1.1 200")
        except TimeoutError:
            return False


def test_worker_connections_bounds_the_connections_a_worker_serves(served_models, tmp_path):
    server = live.start(
        served_models,
        tmp_path / "bound.log",
        workers=1,
        env={"GUNICORN_WORKER_CONNECTIONS": "2", "MLPSERVE_READ_TIMEOUT": "30"},
    )
    held = []
    try:
        held = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in "ab"]
        assert not _answered(server.port, 1.0)  # two in progress: the third waits in the backlog
        held.pop().close()
        assert _answered(server.port, 10.0)
    finally:
        for s in held:
            s.close()
        live.stop(server)
