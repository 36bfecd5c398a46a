"""Read a model file's bytes and arrays with limits, before anything is decoded.

A crafted file costs at most its legitimate size in memory (:class:`Limits`):

* the file is opened non-blocking and ``fstat``-ed: only regular files are read (a FIFO, a device
  or a directory is refused; a symlink to a regular file is fine, as Kubernetes mounts volumes and
  ConfigMaps through symlinks), and only up to ``max_file_bytes``;
* the zip's members are listed from its central directory, and each member's ``.npy`` header
  (dtype, shape) is read and checked *before* its data: object dtypes (pickles) are refused, the
  float parameters of the whole file must fit ``max_params``, and a member is inflated only up to
  the size its header declares -- a member that inflates to gigabytes is never inflated.

Every refusal is an :class:`~service.errors.ArtifactError` with a one-line reason.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ArtifactError

_MAX_STRING_BYTES = 64 * 1024  # a name, a task, the activations: a few bytes each
_MAX_MEMBERS = 256
_ZIP_MAGIC = b"PK\x03\x04"
_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}
_NPY_MAGIC = b"\x93NUMPY"


@dataclass(frozen=True)
class Limits:
    """Caps on what one model file may hold: ``max_params`` float32/int64 values in all, so the
    file itself may be at most ``4 * max_params`` bytes plus 1 MiB of headers and strings."""

    max_params: int = 16_000_000  # 64 MB of float32: six times the shipped mnist model

    @property
    def max_file_bytes(self) -> int:
        return 4 * self.max_params + 1024 * 1024


def read_regular(path: Path, cap: int, what: str) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``cap`` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO must not block the open
    except OSError as e:
        raise ArtifactError(f"cannot read {what}: {e.strerror or e}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ArtifactError(f"{what} is not a regular file ({_kind(st.st_mode)})")
        if st.st_size > cap:
            raise ArtifactError(f"{what} is {st.st_size} bytes, over the {cap}-byte cap")
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(cap + 1)
    finally:
        os.close(fd)
    if len(data) > cap:
        raise ArtifactError(f"{what} grew past the {cap}-byte cap while being read")
    return data


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def read_members(raw: bytes, limits: Limits) -> dict[str, np.ndarray]:
    """Every ``KEY.npy`` member of the zip, header-checked before its data is inflated."""
    if not raw.startswith(_ZIP_MAGIC):
        if raw.startswith(_NPY_MAGIC):
            raise ArtifactError("not an .npz archive (a single .npy array)")
        if raw[:1] == b"\x80":
            raise ArtifactError("refused: contains pickled data (allow_pickle=False)")
        raise ArtifactError("not an .npz archive (no zip header)")
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
        members = zf.infolist()
        if len(members) > _MAX_MEMBERS:
            raise ArtifactError(f"{len(members)} members, over the cap of {_MAX_MEMBERS}")
        budget = [limits.max_params]  # values left for the float and int arrays
        return {_key(m.filename): _read_member(zf, m, budget) for m in members}
    except ArtifactError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as e:
        raise ArtifactError(f"corrupt archive: {type(e).__name__}: {e}") from None


def _key(filename: str) -> str:
    if not filename.endswith(".npy"):
        raise ArtifactError(f"member {filename!r} is not an .npy array")
    return filename[: -len(".npy")]


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: list[int]) -> np.ndarray:
    key = _key(info.filename)
    with zf.open(info) as fp:
        read_header = _HEADER_READERS.get(np.lib.format.read_magic(fp))
        if read_header is None:
            raise ArtifactError(f"{key!r} is not in .npy format version 1.0 or 2.0")
        shape, fortran, dtype = read_header(fp, max_header_size=10_000)
        if dtype.hasobject:
            raise ArtifactError(f"refused: {key!r} contains pickled data (allow_pickle=False)")
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        nbytes = count * dtype.itemsize
        if dtype.kind in "US":
            if nbytes > _MAX_STRING_BYTES:
                raise ArtifactError(f"{key!r} is a {nbytes}-byte string, over the cap")
        elif dtype.kind in "biuf":  # the contract's dtypes are checked later, with their names
            budget[0] -= count
            if budget[0] < 0:
                raise ArtifactError(f"{key!r} takes the file over the cap on parameters")
        else:
            raise ArtifactError(f"{key!r} has dtype {dtype}, not a number or a string")
        data = fp.read(nbytes)
    if len(data) != nbytes:
        raise ArtifactError(f"corrupt archive: {key!r} is truncated")
    order = "F" if fortran else "C"
    return np.frombuffer(data, dtype=dtype).reshape(shape, order=order)
