"""The MNIST loader's sources, verification and cache (on a tiny fake), and the other sets."""

from pathlib import Path

import numpy as np
import pytest

from training.datasets import LOADERS, REGRESSION, regression_truth
from training.mnist import CACHE_NAME, DataError, load_mnist, verify
from training.presets import make_config

TRAIN_COUNTS = (2, 1, 1, 1, 1, 1, 1, 1, 1, 1)
TEST_COUNTS = (1, 1, 0, 0, 0, 0, 0, 0, 0, 1)
EXPECTED = (TRAIN_COUNTS, TEST_COUNTS)


def _write_csv(path: Path, counts: tuple[int, ...], seed: int) -> np.ndarray:
    """A CSV in the packaged copy's layout: header, then label and 784 pixels per row."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(10), counts)
    rows = np.column_stack([labels, rng.integers(0, 256, (len(labels), 784))])
    header = "label," + ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29))
    np.savetxt(path, rows, fmt="%d", delimiter=",", header=header, comments="")
    return rows


@pytest.fixture
def fake_csv(tmp_path: Path) -> Path:
    folder = tmp_path / "csv"
    folder.mkdir()
    _write_csv(folder / "mnist_train.csv", TRAIN_COUNTS, 0)
    _write_csv(folder / "mnist_test.csv", TEST_COUNTS, 1)
    return folder


def _load(cache: Path, csv: Path | None):
    return load_mnist(cache_dir=cache, csv_dir=csv, allow_download=False, expected=EXPECTED)


def test_builds_cache_from_csv_then_reads_it(tmp_path: Path, fake_csv: Path) -> None:
    first = _load(tmp_path / "cache", fake_csv)
    assert first.source == "packaged-csv"
    assert first.x_train.shape == (11, 784) and first.x_train.dtype == np.uint8
    assert (tmp_path / "cache" / CACHE_NAME).exists()
    second = _load(tmp_path / "cache", None)  # no CSV needed any more
    assert second.sha256 == first.sha256
    np.testing.assert_array_equal(second.x_test, first.x_test)


def test_corrupted_cache_is_rebuilt(tmp_path: Path, fake_csv: Path) -> None:
    cache = tmp_path / "cache"
    good = _load(cache, fake_csv)
    (cache / CACHE_NAME).write_bytes(b"not a zip file")
    rebuilt = _load(cache, fake_csv)
    assert rebuilt.sha256 == good.sha256
    assert _load(cache, None).sha256 == good.sha256


def test_tampered_cache_fails_its_sha256_and_is_rebuilt(tmp_path: Path, fake_csv: Path) -> None:
    cache = tmp_path / "cache"
    good = _load(cache, fake_csv)
    with np.load(cache / CACHE_NAME) as f:
        arrays = dict(f)
    arrays["x_train"] = arrays["x_train"].copy()
    arrays["x_train"][0, 0] ^= 1
    with open(cache / CACHE_NAME, "wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(DataError):  # without a source to rebuild from, it is refused
        _load(cache, None)
    assert _load(cache, fake_csv).sha256 == good.sha256


def test_wrong_label_counts_are_refused(tmp_path: Path, fake_csv: Path) -> None:
    swapped = ((1, 2, *TRAIN_COUNTS[2:]), TEST_COUNTS)  # same total, other distribution
    with pytest.raises(DataError, match="label counts"):
        load_mnist(tmp_path / "cache", fake_csv, allow_download=False, expected=swapped)
    with pytest.raises(DataError, match=r"expected \(60000, 784\)"):
        load_mnist(tmp_path / "cache", fake_csv, allow_download=False)  # real MNIST's sizes
    assert not (tmp_path / "cache" / CACHE_NAME).exists()


def test_verify_checks_shape_and_dtype() -> None:
    x = np.ones((3, 784), np.uint8)
    y = np.array([0, 1, 2], np.uint8)
    counts = (1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
    verify({"x_train": x, "y_train": y, "x_test": x, "y_test": y}, counts, counts)
    with pytest.raises(DataError, match="uint8"):
        verify(
            {"x_train": x.astype(np.int64), "y_train": y, "x_test": x, "y_test": y}, counts, counts
        )
    with pytest.raises(DataError, match="expected"):
        verify({"x_train": x[:, :700], "y_train": y, "x_test": x, "y_test": y}, counts, counts)


def test_regression_set_is_documented_and_fixed() -> None:
    config = make_config("regression")
    data = LOADERS["regression"](config)
    again = LOADERS["regression"](make_config("regression", {"seed": "7"}))
    np.testing.assert_array_equal(data.X_test, again.X_test)  # test set independent of run seed
    assert len(data.X_test) == REGRESSION["n_test"]
    assert len(data.X_train) + len(data.X_val) == REGRESSION["n_train"]
    lo, hi = REGRESSION["x_range"]
    assert data.X_test.min() >= lo and data.X_test.max() <= hi
    noise = data.y_test - regression_truth(data.X_test)
    assert noise.std() == pytest.approx(REGRESSION["noise_sigma"], rel=0.1)
    assert data.provenance["noise_var"] == pytest.approx(REGRESSION["noise_sigma"] ** 2)


def test_moons_and_digits_splits() -> None:
    moons = LOADERS["moons"](make_config("moons"))
    assert moons.X_train.shape[1] == 2 and set(np.unique(moons.y_train)) == {0, 1}
    digits = LOADERS["digits"](make_config("tiny"))
    assert digits.X_train.shape[1] == 64 and digits.input_shape == (8, 8)
    n = len(digits.X_train) + len(digits.X_val) + len(digits.X_test)
    assert n == 1797


def test_cache_folder_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from training.mnist import data_dir

    monkeypatch.setenv("MLPSERVE_DATA_DIR", str(tmp_path))
    assert data_dir() == tmp_path
    monkeypatch.delenv("MLPSERVE_DATA_DIR")
    assert data_dir() == Path.home() / ".cache" / "mlpserve"
