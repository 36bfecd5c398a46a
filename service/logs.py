"""Log records as text lines (the default) or one JSON object per line (``MLPSERVE_LOG_FORMAT``).

The service's own logger (``mlpserve``: model loads, swaps, refusals, server bugs) and gunicorn's
error log share one format; the access log (``service.access_log``) writes its lines itself with
the same choice. JSON lines carry ``ts`` (UTC, ISO 8601), ``level``, ``pid``, ``logger`` and
``msg``, plus the traceback as ``exc`` when there is one, so a log pipeline can index them.
"""

from __future__ import annotations

import logging
import os
import sys
import time

import orjson

TEXT_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s"


def utc_stamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": utc_stamp(record.created),
            "level": record.levelname.lower(),
            "pid": record.process,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def formatter(fmt: str) -> logging.Formatter:
    """The formatter of ``fmt`` (``"text"`` or ``"json"``)."""
    if fmt == "json":
        return JsonFormatter()
    return logging.Formatter(TEXT_FORMAT, "%Y-%m-%d %H:%M:%S %z")


def log_format() -> str:
    """The format chosen in the environment (what gunicorn's logger reads before the app)."""
    return "json" if os.environ.get("MLPSERVE_LOG_FORMAT", "").lower() == "json" else "text"


def configure(fmt: str, level: str) -> logging.Logger:
    """Give the ``mlpserve`` logger one stderr handler in ``fmt`` at ``level`` (idempotent: a
    second app in the same process replaces the handler rather than adding one)."""
    logger = logging.getLogger("mlpserve")
    logger.setLevel(level)
    handler = next((h for h in logger.handlers if getattr(h, "_mlpserve", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler._mlpserve = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    handler.setFormatter(formatter(fmt))
    return logger
