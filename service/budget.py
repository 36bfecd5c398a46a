"""The work bounds of one upload request: its limits, what an image costs, its CPU limit and
deadline.

Decoding is what costs, and it is bounded by pixels, not bytes: a 702-byte lossless WebP decodes
to 16.7 Mpx (0.3 s here), and Pillow decodes PNG, WebP, GIF and BMP at full size. So each image is
charged its pixels times the passes its decoder makes over them, from its header, and a request
may decode at most ``Limits.request_pixels`` in all. What bytes do cost is Pillow's Python-level
parsing of headers (PNG chunks, JPEG markers, GIF blocks, compressed PNG text: 1-3 µs a byte at
worst here, a header being read twice: once to charge the image, once to decode it), which the
CPU limit of :class:`Deadline` cuts.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from PIL import Image

from .errors import InvalidInputError, ServiceUnavailableError

# Each progressive JPEG scan walks every block again (17 ms per scan at 4096x4096 here): a JPEG
# holds at most this many (libjpeg writes 6 for grey, 10 for colour), and every 10 count as one
# pass over its pixels.
MAX_JPEG_SCANS = 32
# Pillow decodes RLE-compressed BMP in Python: up to 220 ns a pixel, 30x a lossless WebP pixel.
RLE_BMP_PASSES = 32
_BMP_RLE = (1, 2)
_EVERY = 0.005  # seconds of wall time between two readings of the CPU clock


@dataclass(frozen=True)
class Limits:
    """The caps on one upload request (``MLPSERVE_MAX_IMAGE_PIXELS``, ``..._MAX_REQUEST_PIXELS``,
    ``..._REQUEST_CPU_SECONDS``, ``..._REQUEST_DEADLINE_SECONDS``; see :class:`Deadline`).

    ``request_pixels`` is the pixel budget: the pixels all images of a request decode, each image
    counted once per pass its decoder makes over them (once; 32 times for an RLE BMP; once per 10
    scans of a JPEG). The defaults (two images at the per-image cap; 1.25 s of CPU) come from the
    crafted-upload catalogue in ``tests/crafted_uploads.py`` (``PYTHONPATH=. python
    tests/crafted_uploads.py`` re-measures: 34 requests up to the 8 MiB body cap, CPU of the whole
    request in-process, best of 3, on this 2-core machine shared at a load of 5-9):

    - dearest request within the budget: two 4096x4096 RGBA PNGs or lossless WebPs with ink,
      0.65-0.87 s across runs (the CPU limit is about 1.5x that); every refusal from the headers
      (the issue's 256 blank WebPs, 40 blank JPEGs at the cap, a JPEG of 1000 scans) 1-60 ms;
    - dearest request of all: 1.36 s, header parsing up to the CPU limit and then one decode at
      the cap that no check interrupts (header size swept; bound: the limit plus one such step,
      0.35 s, so 1.6 s); 8 MB of PNG chunks, JPEG markers, GIF comment blocks or compressed
      PNG text: 1.27-1.31 s;
    - worst CPU per request byte: 0.44 ms a byte, for a 1.8 KB request that decodes the whole
      budget (pixels, not bytes, are what costs); over 1 MB, at most 0.16 µs a byte.
    """

    image_pixels: int
    request_pixels: int
    cpu_seconds: float
    deadline_seconds: float


class TooCostlyError(InvalidInputError):
    """The request used up its CPU limit: 422, as a retry would fail again."""


class Deadline:
    """The CPU limit and wall-clock deadline of one request, checked at clean points (between
    images and steps, and at every read a decoder makes; no signals, no threads).

    Past ``Limits.cpu_seconds`` of this thread's CPU the request is too costly: 422, as a retry
    would fail again. Past ``Limits.deadline_seconds`` of wall time with the CPU limit not reached
    the request was kept waiting by a busy machine: 503 with ``Retry-After``. Thread CPU time is
    the request's own under sync and threaded workers (and under gevent, which cannot switch
    greenlets during a decode).
    """

    def __init__(self, limits: Limits, field: str):
        self.limits, self.field = limits, field
        self._cpu_end = time.thread_time() + limits.cpu_seconds
        self._wall_end = time.monotonic() + limits.deadline_seconds
        self._next = 0.0  # the monotonic time of the next full check

    def check(self, path: str) -> None:
        """Raise if the CPU limit or the deadline has passed; ``path`` is the image at work.

        Reads the thread's CPU clock (a system call, about 1 µs: as much as Pillow's parse of a
        GIF block) at most every ``_EVERY`` seconds of wall time; the cheap monotonic clock in
        between. The CPU limit is seen at most that late, as CPU time never outruns wall time."""
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + _EVERY
        if time.thread_time() > self._cpu_end:
            seconds = self.limits.cpu_seconds
            raise TooCostlyError(
                "images too costly to decode",
                {self.field: [f"Stopped at {path}: over {seconds:g} s of CPU, the limit."]},
            )
        if now > self._wall_end:
            seconds = self.limits.deadline_seconds
            raise ServiceUnavailableError(
                "server busy: request deadline passed",
                {self.field: [f"Stopped at {path}: {seconds:g} s deadline passed; retry later."]},
                retry_after=1,
            )


def pixel_cost(im: Image.Image, data: bytes, path: str) -> int:
    """The pixels decoding ``im`` costs in the request budget: width x height x decoder passes.
    A JPEG's scans are counted by their start markers (an EXIF thumbnail's count too)."""
    w, h = im.size
    if im.format == "BMP" and im.info.get("compression") in _BMP_RLE:
        return w * h * RLE_BMP_PASSES
    scans = data.count(b"\xff\xda") if im.format == "JPEG" else 0
    if scans > MAX_JPEG_SCANS:
        raise InvalidInputError(
            "JPEG with too many scans",
            {path: [f"The JPEG has {scans} scans; the maximum is {MAX_JPEG_SCANS}."]},
        )
    return w * h * max(1, math.ceil(scans / 10))
