"""Which models serve: scan the model folder, load what changed, swap atomically, keep reasons.

The registry maps each ``NAME.npz`` of the model folder to the compiled :class:`Model` serving
under that name. A scan compares each file's identity (device, inode, size, mtime, following
symlinks) with the one last loaded and loads only what changed, into a new snapshot that replaces
the old one in a single assignment, so a request sees the old model or the new one, never a mix.

Availability comes first (as TF Serving's availability-preserving policy and MLServer do): a
replacement is loaded and self-tested *before* it is swapped in, and one that is refused leaves
the last good version serving, with the refusal kept in ``refused`` and logged. A file that is
removed stops serving. A name whose file never loaded is a failure, and so is a required name
without a file: either makes the registry not ready.

Scans run at most every ``reload_interval`` seconds, from whichever request first finds the
snapshot stale (a timestamp comparison per request; a scan without changes costs one ``stat`` per
file). Every process therefore rescans by itself, gunicorn workers included, with no thread and no
signal; a forked process rescans at its first request, so a gunicorn ``SIGHUP`` (new workers
forked from the master) forces a rescan. A changed file is loaded by the request that finds it,
which waits for it (the shipped ``mnist`` model loads in about 60 ms). ``reload_interval=0``
scans only when :meth:`scan` is called or the process forks.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .artifact import Limits
from .engine import Model, load_model
from .errors import ArtifactError, ModelUnavailableError, NotFoundError

log = logging.getLogger("mlpserve")


@dataclass(frozen=True)
class _Entry:
    key: tuple[int, ...] | None  # the file's identity when last loaded (None: unreadable)
    model: Model | None  # what serves under the name (the last good version), if anything
    reason: str | None  # why the current file was refused, if it was


@dataclass(frozen=True)
class Snapshot:
    """One consistent view: the serving models, failures (names with nothing serving, and why)
    and refused replacements (names still served by an older version, and why)."""

    models: dict[str, Model] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return bool(self.models) and not self.failures


class Registry:
    """The models of one folder, reloaded as its files change."""

    def __init__(
        self,
        model_dir: str | Path,
        required: tuple[str, ...] = (),
        limits: Limits = Limits(),  # noqa: B008
        reload_interval: float = 1.0,
    ):
        self.model_dir = Path(model_dir)
        self.required = required
        self.limits = limits
        self.reload_interval = reload_interval
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._next_scan = 0.0
        self._snapshot = Snapshot()
        self.scan()
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _rescan_soon(ref()))

    @property
    def snapshot(self) -> Snapshot:
        """The current snapshot, after a rescan if the last one is older than the interval."""
        if time.monotonic() >= self._next_scan:
            self._rescan_if_free()
        return self._snapshot

    def get(self, name: str, version: str | None = None) -> Model:
        """The model serving as ``name`` (and, if given, exactly that ``version``).

        Raises :class:`NotFoundError` (unknown name or version) or :class:`ModelUnavailableError`
        (its file was refused and no earlier version serves).
        """
        snap = self.snapshot
        model = snap.models.get(name)
        if model is None:
            if name in snap.failures:
                raise ModelUnavailableError(
                    f"model {name!r} is not available", {"model": [snap.failures[name]]}
                )
            known = ", ".join(sorted(snap.models)) or "none"
            raise NotFoundError(f"unknown model {name!r}", {"model": [f"Known models: {known}."]})
        if version is not None and version != model.info.version:
            raise NotFoundError(
                f"model {name!r} has no version {version!r}",
                {"version": [f"Model {name!r} serves version {model.info.version}."]},
            )
        return model

    def status(self) -> dict[str, dict[str, Any]]:
        """Per name: ``{"status": "ready", "version": ...}`` (plus ``refused``: why a newer file
        was not swapped in) or ``{"status": "failed", "reason": ...}``."""
        snap = self.snapshot
        out: dict[str, dict[str, Any]] = {}
        for name, model in snap.models.items():
            out[name] = {"status": "ready", "version": model.info.version}
            if name in snap.refused:
                out[name]["refused"] = snap.refused[name]
        for name, reason in snap.failures.items():
            out[name] = {"status": "failed", "reason": reason}
        return out

    # -- scanning -------------------------------------------------------------------------------

    def _rescan_if_free(self) -> None:
        if self._lock.acquire(blocking=False):  # another thread scanning: serve what is there
            try:
                self._scan_locked()
            finally:
                self._lock.release()

    def scan(self) -> None:
        """Rescan the folder now: load new and changed files, drop removed ones, swap."""
        with self._lock:
            self._scan_locked()

    def _scan_locked(self) -> None:
        self._next_scan = time.monotonic() + (self.reload_interval or math.inf)
        if not self.model_dir.is_dir():
            reason = f"model directory {str(self.model_dir)!r} does not exist"
            self._entries = {}
            self._snapshot = Snapshot(failures={"*": reason})
            return
        paths = {
            p.stem: p for p in sorted(self.model_dir.glob("*.npz")) if not p.name.startswith(".")
        }
        for name in sorted(set(self._entries) - set(paths)):
            log.warning("model %s removed: %s.npz is gone, it no longer serves", name, name)
        self._entries = {name: self._entry(name, path) for name, path in paths.items()}
        self._snapshot = self._build_snapshot()

    def _entry(self, name: str, path: Path) -> _Entry:
        key = _identity(path)
        old = self._entries.get(name)
        if old is not None and key == old.key:
            return old
        served = old.model if old is not None else None
        try:
            model = load_model(path, self.limits)
        except ArtifactError as e:
            return self._refused(name, key, served, str(e))
        except Exception as e:  # never let one bad file take the process down
            return self._refused(name, key, served, f"unexpected error while loading: {e!r}")
        if served is None:
            log.info("model %s version %s loaded (%s)", name, model.info.version, model.task)
        else:
            log.info(
                "model %s swapped: version %s -> %s", name, served.info.version, model.info.version
            )
        return _Entry(key, model, None)

    def _refused(self, name: str, key, served: Model | None, reason: str) -> _Entry:
        if served is None:
            log.error("model %s not loaded: %s.npz refused: %s", name, name, reason)
        else:
            log.error(
                "model %s: new %s.npz refused, version %s keeps serving: %s",
                name, name, served.info.version, reason,
            )  # fmt: skip
        return _Entry(key, served, reason)

    def _build_snapshot(self) -> Snapshot:
        entries = self._entries
        models = {n: e.model for n, e in entries.items() if e.model is not None}
        failures = {n: e.reason or "" for n, e in entries.items() if e.model is None}
        refused = {n: e.reason for n, e in entries.items() if e.model is not None and e.reason}
        for name in self.required:
            if name not in entries:
                failures[name] = f"missing: no {name}.npz in {str(self.model_dir)!r}"
        if not entries and not failures:
            failures["*"] = f"no *.npz model in {str(self.model_dir)!r}"
        return Snapshot(models, failures, refused)


def _rescan_soon(registry: Registry | None) -> None:
    if registry is not None:
        registry._next_scan = 0.0


def _identity(path: Path) -> tuple[int, ...] | None:
    """What changes when a file is replaced or rewritten (``stat`` follows symlinks)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
