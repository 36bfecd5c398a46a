"""A catalogue of crafted upload requests, and the measurement of their CPU cost.

``tests/test_service_uploads.py`` checks every request's answer (scaled down); this module, run
as ``PYTHONPATH=. python tests/crafted_uploads.py``, sends each at full size (4096x4096 images,
the 8 MiB body cap) to an in-process app with the shipped defaults and prints its CPU time
(``time.process_time`` around the request, multipart parsing included; the best of 3) and its
CPU per request byte.
"""

from __future__ import annotations

import io
import struct
import time
import zlib
from collections.abc import Callable

import numpy as np
from PIL import Image

BODY_CAP = 8 * 1024 * 1024  # the default


# -- building crafted files ---------------------------------------------------------------------


def encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_without_end(w: int, h: int, extra: bytes = b"") -> bytes:
    """A white 8-bit grey PNG, ``extra`` chunks before its pixels, no end chunk."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    idat = zlib.compress((b"\x00" + b"\xff" * w) * h, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", idat)


def with_chunks(png: bytes, nbytes: int) -> bytes:
    """``png`` with about ``nbytes`` of empty private chunks after its header chunk."""
    return png[:33] + chunk(b"prVt", b"") * (nbytes // 12) + png[33:]


def png_complete(w: int, h: int, extra: bytes = b"") -> bytes:
    return png_without_end(w, h, extra) + chunk(b"IEND", b"")


def bmp_rle8(w: int, h: int, body: bytes) -> bytes:
    """An 8-bit RLE BMP (compression 1) with a grey palette; ``body`` is the RLE stream."""
    palette = b"".join(bytes([i, i, i, 0]) for i in range(256))
    offset = 14 + 40 + len(palette)
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 8, 1, len(body), 2835, 2835, 256, 0)
    header = b"BM" + struct.pack("<IHHI", offset + len(body), 0, 0, offset)
    return header + info + palette + body


def rle_end_of_lines(w: int, h: int) -> bytes:
    """Each row one pixel then end-of-line: Pillow's Python RLE decoder pads every row itself."""
    return bmp_rle8(w, h, b"\x01\xff\x00\x00" * h + b"\x00\x01")


def jpeg_repeating_scans(n: int, side: int) -> bytes:
    """A blank progressive JPEG whose last scan is repeated ``n`` times."""
    base = encode(Image.new("RGB", (side, side), (255, 255, 255)), "JPEG", progressive=True)
    last = base.rindex(b"\xff\xda")
    return base[:-2] + base[last:-2] * n + b"\xff\xd9"


def digit_canvas(side: int, mode: str = "L", fmt: str = "PNG", **kw) -> bytes:
    """A ``side`` x ``side`` canvas, blank but for a bar of ink near the centre (a '1')."""
    im = Image.new(mode, (side, side), 255 if mode == "L" else (255, 255, 255, 0))
    ink = 0 if mode == "L" else (0, 0, 0, 255)
    c, t = side // 2, max(1, side // 40)
    im.paste(ink, (c - t, side // 4, c + t, 3 * side // 4))
    return encode(im, fmt, **kw)


def noise(side: int, fmt: str, **kw) -> bytes:
    a = np.random.default_rng(side).integers(0, 256, (side, side), dtype=np.uint8)
    return encode(Image.fromarray(a), fmt, **kw)


def repeat_last_frame(nbytes: int, fmt: str) -> bytes:
    """A 16x16 animation of about ``nbytes``, the first frame blank: the last of two frames
    that Pillow writes is repeated (GIF: from its control extension to the trailer; WebP: its
    ANMF chunk, with the RIFF size fixed)."""
    ims = [Image.new("L", (16, 16), 255), Image.new("L", (16, 16), 0)]
    kw = {"lossless": True} if fmt == "WEBP" else {"duration": 10}
    base = encode(ims[0], fmt, save_all=True, append_images=ims[1:], **kw)
    if fmt == "GIF":
        last = base.rindex(b"\x21\xf9")
        return base[:-1] + base[last:-1] * (nbytes // (len(base) - last)) + b";"
    last = base.rindex(b"ANMF")
    riff = base + base[last:] * (nbytes // (len(base) - last))
    return riff[:4] + struct.pack("<I", len(riff) - 8) + riff[8:]


def frames(n: int) -> bytes:
    """An APNG of ``n`` different 16x16 frames, the first one blank."""
    ims = [Image.new("L", (16, 16), 255)] + [Image.new("L", (16, 16), i % 251) for i in range(n)]
    return encode(ims[0], "PNG", save_all=True, append_images=ims[1:n])


def gif_long_comment(nbytes: int) -> bytes:
    """A 1x1 GIF whose image follows a comment of 1-byte sub-blocks (a Python read per 2 bytes)."""
    base = encode(Image.new("L", (1, 1), 255), "GIF")
    flags = base[10]  # after the 13-byte header comes the global colour table, if flagged
    i = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    return base[:i] + b"\x21\xfe" + b"\x01x" * (nbytes // 2) + b"\x00" + base[i:]


def jpeg_many_markers(nbytes: int) -> bytes:
    """A blank 8x8 JPEG preceded by empty COM markers (one Python step per 4 bytes)."""
    base = encode(Image.new("L", (8, 8), 255), "JPEG")
    return base[:2] + b"\xff\xfe\x00\x02" * (nbytes // 4) + base[2:]


def zlib_chunk(kind: bytes, keyword: bytes, size: int) -> bytes:
    return chunk(kind, keyword + b"\x00\x00" + zlib.compress(b"a" * size, 9))


def exif_rotated(side: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6
    return digit_canvas(side, fmt="PNG", exif=exif)


def blank(mode: str, fmt: str, side: int, **kw) -> bytes:
    colour = {"RGBA": (255, 255, 255, 0), "CMYK": (0, 0, 0, 0), "I;16": 65535}.get(mode, 255)
    return encode(Image.new(mode, (side, side), colour), fmt, **kw)


# One request: the files of a multipart request, then the expected status, field in the details
# and words in its reason.
Case = tuple[Callable[[], list[bytes]], int, str, str]
OK = (200, "", "")


def catalogue(side: int, body_cap: int) -> dict[str, Case]:
    """Crafted requests for a per-image cap of ``side`` ** 2 pixels, a request budget of two such
    images and a body cap of ``body_cap`` bytes; each file is built when its case runs."""
    room = body_cap - 64 * 1024  # for the multipart framing

    def fit(make: Callable[[], bytes]) -> Callable[[], list[bytes]]:
        """As many copies as fit the body cap (at most 256, the batch cap)."""
        return lambda: [blob := make()] * max(1, min(256, room // (len(blob) + 200)))

    def two(make: Callable[[], bytes]) -> Callable[[], list[bytes]]:
        """Two copies: two images at the per-image cap is the request budget."""
        return lambda: [make()] * 2

    def half(blob: bytes) -> bytes:
        return blob[: len(blob) // 2]

    noisy = min(side, int((0.93 * room) ** 0.5))  # the largest noise image within the body cap
    webp = {"lossless": True}
    # fmt: off
    return {
        # The request: 256 blank lossless WebPs at the cap (702 bytes each at 4096^2).
        "256 blank WebP": (
            lambda: [blank("RGBA", "WEBP", side, **webp)] * 256, 422, "image", "budget"),
        # Two images at the cap, each decoded in full: the dearest requests within the budget
        # (with a bar of ink, so that no image stops the request as blank).
        "2 ink WebP RGBA": (two(lambda: digit_canvas(side, "RGBA", "WEBP", **webp)), *OK),
        "2 ink PNG RGBA": (two(lambda: digit_canvas(side, "RGBA")), *OK),
        "2 ink PNG grey, EXIF rotated": (two(lambda: exif_rotated(side)), *OK),
        "2 ink GIF": (two(lambda: digit_canvas(side, fmt="GIF")), *OK),
        "2 ink JPEG progressive": (
            two(lambda: digit_canvas(side, fmt="JPEG", progressive=True)), *OK),
        # Blank canvases: the first one stops the request.
        "2 blank BMP 1-bit": (two(lambda: blank("1", "BMP", side)), 422, "image.0", "blank"),
        "2 blank PNG 16-bit": (two(lambda: blank("I;16", "PNG", side)), 422, "image.0", "blank"),
        "2 blank JPEG CMYK": (two(lambda: blank("CMYK", "JPEG", side)), 422, "image.0", "blank"),
        "2 blank palette PNG + tRNS": (
            two(lambda: blank("P", "PNG", side, transparency=0)), 422, "image.0", "blank"),
        "blank JPEGs to the body cap": (
            fit(lambda: blank("L", "JPEG", side)), 422, "image", "budget"),
        # Noise: the most pixels of ink that fit in the body cap.
        "noise PNG": (lambda: [noise(noisy, "PNG")], *OK),
        "noise WebP": (lambda: [noise(noisy, "WEBP", **webp, method=0, quality=0)], *OK),
        "noise JPEG q95": (lambda: [noise(noisy, "JPEG", quality=95)], *OK),
        # Many small images.
        "256 blank PNG 1x1": (lambda: [blank("L", "PNG", 1)] * 256, 422, "image.0", "blank"),
        "256 ink PNG 28x28": (lambda: [digit_canvas(28)] * 256, *OK),
        "256 ink PNG at side/6": (lambda: [digit_canvas(side // 6)] * 256, 422, "image", "budget"),
        "256 PNG without IEND": (lambda: [png_without_end(64, 64)] * 256, 422, "image.0", "blank"),
        # Truncated files.
        "truncated noise PNG": (lambda: [half(noise(noisy, "PNG"))], 400, "image.0", "truncated"),
        "truncated JPEG": (
            lambda: [half(noise(noisy, "JPEG", quality=95))], 400, "image.0", "truncated"),
        # Multi-frame: the first frame is used, the others are never decoded.
        "GIF, frames to the body cap": (
            lambda: [repeat_last_frame(room, "GIF")], 422, "image.0", "blank"),
        "WebP, frames to the body cap": (
            lambda: [repeat_last_frame(room, "WEBP")], 422, "image.0", "blank"),
        "APNG 2k frames": (lambda: [frames(2_000)], 422, "image.0", "blank"),
        # Work per byte in Pillow's Python-level parsers: cut by the CPU limit.
        "PNG of empty chunks": (
            lambda: [with_chunks(png_complete(1, 1), room)], 422, "image", "CPU"),
        "JPEG of COM markers": (lambda: [jpeg_many_markers(room)], 422, "image", "CPU"),
        "GIF comment of 1-byte blocks": (lambda: [gif_long_comment(room)], 422, "image", "CPU"),
        "PNGs of 64 MB of zTXt": (
            fit(lambda: png_complete(1, 1, zlib_chunk(b"zTXt", b"k", 1 << 20) * 64)),
            422, "image", "CPU"),
        # Header parsing close to the CPU limit (with the shipped one, on this machine), then
        # one decode at the cap, which no check interrupts: the limit's worst overrun.
        "chunky PNG, then an RGBA WebP at the cap": (
            lambda: [with_chunks(digit_canvas(64), room // 16),
                     digit_canvas(side, "RGBA", "WEBP", **webp)],
            422, "image", "CPU"),
        "PNG with a 1 MB iCCP": (
            lambda: [png_complete(side, side, zlib_chunk(b"iCCP", b"p", 1 << 20))],
            422, "image.0", "blank"),
        # Progressive JPEG scans: each walks every block again.
        "JPEG 1000 scans": (lambda: [jpeg_repeating_scans(990, 64)], 422, "image.0", "scans"),
        "JPEG 32 scans": (lambda: [jpeg_repeating_scans(22, side)], 422, "image", "budget"),
        "JPEG 32 scans at side/sqrt(2)": (
            lambda: [jpeg_repeating_scans(22, side * 181 // 256)], 422, "image.0", "blank"),
        # Pillow's RLE BMP decoder is Python: charged 32 passes.
        "RLE BMP of end-of-lines": (lambda: [rle_end_of_lines(side, side)], 422, "image", "budget"),
        "RLE BMP of end-of-lines at side/4": (
            lambda: [rle_end_of_lines(side // 4, side // 4)], *OK),
    }
    # fmt: on


def multipart(blobs: list[bytes]) -> tuple[bytes, str]:
    """The body and Content-Type of a multipart request with ``blobs`` in the field ``image``."""
    boundary = "mlpserve-crafted-upload"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{i}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode()
        + blob
        + b"\r\n"
        for i, blob in enumerate(blobs)
    ]
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def measure() -> None:
    """Print the CPU time of every catalogue request to an app with the shipped defaults."""
    from service import create_app

    client = create_app().test_client()
    print(f"{'request':40s} {'bytes':>9s} {'status':>6s} {'CPU ms':>8s} {'µs/byte':>8s}")
    for name, (make, *_) in catalogue(4096, BODY_CAP).items():
        body, content_type = multipart(make())
        assert len(body) <= BODY_CAP, (name, len(body))
        cpu = []
        for _ in range(3):
            t0 = time.process_time()
            r = client.post("/predict", data=body, content_type=content_type)
            cpu.append(time.process_time() - t0)
        error = r.get_json().get("error", "")
        print(
            f"{name:40s} {len(body):9d} {r.status_code:6d} {min(cpu) * 1e3:8.1f} "
            f"{min(cpu) * 1e6 / len(body):8.2f}  {error}",
            flush=True,
        )


if __name__ == "__main__":
    measure()
