"""The loader's limits: crafted model files are refused with their reason, in bounded memory.

The memory bound is checked for real: a child process caps its own address space
(``RLIMIT_AS``) a few tens of MB above what it uses after start-up, then reads every crafted file;
a reader that inflated a bomb or read ``/dev/zero`` would die of ``MemoryError`` instead of
refusing the file with its reason.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from service.artifact import Limits, read_artifact
from service.errors import ArtifactError

ROOT = Path(__file__).resolve().parent.parent


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a)
    return buf.getvalue()


def _zip(folder: Path, name: str, members: dict[str, bytes], compress: bool = True) -> Path:
    path = folder / f"{name}.npz"
    mode = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", mode) as z:
        for key, data in members.items():
            z.writestr(f"{key}.npy", data)
    return path


def _header_claiming(shape: tuple[int, ...]) -> bytes:
    """An .npy header that declares ``shape`` float32, followed by a few bytes of data."""
    buf = io.BytesIO()
    header = {"descr": "<f4", "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + b"\0" * 64


def crafted_files(folder: Path, good: dict[str, np.ndarray]) -> dict[str, str]:
    """Write each crafted file into ``folder``; return {file stem: expected reason fragment}."""
    folder.mkdir(parents=True, exist_ok=True)
    members = {k: _npy(v) for k, v in good.items()}
    # 3 GiB of zeros compress to about 3 MB: the member's header says (805306368,) float32.
    bomb = dict(members)
    bomb["W_0"] = _header_claiming((805_306_368,))
    _zip(folder, "bomb", bomb)
    huge = dict(members)
    huge["W_0"] = _header_claiming((1 << 40, 1 << 20))
    _zip(folder, "hugeheader", huge)
    truncated = dict(members)
    truncated["W_0"] = _npy(good["W_0"])[:-8]
    _zip(folder, "truncated", truncated)
    os.mkfifo(folder / "fifo.npz")
    (folder / "zero.npz").symlink_to("/dev/zero")
    (folder / "text.npz").write_text("model weights, honest\n")
    (folder / "dir.npz").mkdir()
    return {
        "bomb": "over the cap on parameters",
        "hugeheader": "over the cap on parameters",
        "truncated": "truncated",
        "fifo": "not a regular file (a FIFO)",
        "zero": "not a regular file (a character device)",
        "text": "not an .npz archive",
        "dir": "not a regular file (a directory)",
    }


@pytest.fixture
def good_arrays(contract_arrays) -> dict[str, np.ndarray]:
    return contract_arrays(name="x", sizes=(64, 32, 10))


def test_each_crafted_file_is_refused_with_its_reason(tmp_path, good_arrays):
    for stem, reason in crafted_files(tmp_path, good_arrays).items():
        with pytest.raises(ArtifactError, match=re.escape(reason)):
            read_artifact(tmp_path / f"{stem}.npz", Limits(max_params=1_000_000))


def test_a_symlink_to_a_regular_file_is_read(tmp_path, contract_arrays, write_npz):
    real = write_npz(tmp_path / "data", contract_arrays(name="m"))
    (tmp_path / "m.npz").symlink_to(real)  # how Kubernetes mounts a ConfigMap or volume
    assert read_artifact(tmp_path / "m.npz").info.name == "m"


def test_the_parameter_cap_applies_to_legitimate_files_too(tmp_path, contract_arrays, write_npz):
    path = write_npz(tmp_path, contract_arrays(name="m", sizes=(6, 5, 4, 3)))
    read_artifact(path, Limits(max_params=200))
    with pytest.raises(ArtifactError, match="over the cap on parameters"):
        read_artifact(path, Limits(max_params=50))


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path, contract_arrays, write_npz):
    path = write_npz(tmp_path, contract_arrays(name="m"))
    with path.open("ab") as f:
        f.truncate(Limits(max_params=10).max_file_bytes + 1)
    with pytest.raises(ArtifactError, match=r"over the \d+-byte cap"):
        read_artifact(path, Limits(max_params=10))


_CHILD = """
import json, resource, sys
from pathlib import Path
from service.artifact import Limits, read_artifact
from service.errors import ArtifactError

def vm_bytes():
    for line in open("/proc/self/status"):
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024

headroom = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (vm_bytes() + headroom, resource.RLIM_INFINITY))
out = {}
for path in sorted(Path(sys.argv[1]).glob("*.npz")):
    try:
        read_artifact(path, Limits(max_params=1_000_000))
        out[path.stem] = "loaded"
    except ArtifactError as e:
        out[path.stem] = str(e)
    except MemoryError:
        out[path.stem] = "MemoryError"
print(json.dumps(out))
"""


def test_refusing_crafted_files_stays_within_a_few_mb(tmp_path, good_arrays):
    """Every crafted file is refused with its reason under an address-space cap of 48 MB above
    the reader's own footprint; the bomb alone would need 3 GiB."""
    expected = crafted_files(tmp_path, good_arrays)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tmp_path), str(48 * 1024 * 1024)],
        capture_output=True, text=True, timeout=60, env=env, cwd=ROOT,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    for stem, reason in expected.items():
        assert reason in got[stem], (stem, got[stem])
