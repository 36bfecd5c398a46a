"""The registry: hot reload by atomic swap, refused replacements, removal, rescans by interval."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from service.errors import ModelUnavailableError, NotFoundError
from service.registry import Registry


def _version(a: dict[str, np.ndarray], version: str) -> dict[str, np.ndarray]:
    return {**a, "version": np.array(version)}


def replace_atomically(write_npz, folder: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write the new file beside the old one, then rename over it (what a deploy should do)."""
    staged = write_npz(folder / ".staging", arrays)
    os.replace(staged, folder / staged.name)


def test_a_replaced_file_is_swapped_in(tmp_path, contract_arrays, write_npz):
    a = contract_arrays(name="m")
    write_npz(tmp_path, _version(a, "20260101T000000Z"))
    reg = Registry(tmp_path, reload_interval=0)
    old = reg.get("m")
    replace_atomically(write_npz, tmp_path, _version(a, "20260202T000000Z"))
    assert reg.get("m") is old  # nothing changes until a scan
    reg.scan()
    assert reg.get("m").info.version == "20260202T000000Z"
    assert reg.get("m", "20260202T000000Z") is reg.get("m")
    with pytest.raises(NotFoundError, match="no version '20260101T000000Z'"):
        reg.get("m", "20260101T000000Z")


def test_an_unchanged_file_is_not_reloaded(tmp_path, contract_arrays, write_npz):
    write_npz(tmp_path, contract_arrays(name="m"))
    reg = Registry(tmp_path, reload_interval=0)
    model = reg.get("m")
    reg.scan()
    assert reg.get("m") is model


def test_a_refused_replacement_keeps_the_last_good_version(tmp_path, contract_arrays, write_npz):
    write_npz(tmp_path, contract_arrays(name="m"))
    reg = Registry(tmp_path, reload_interval=0)
    good = reg.get("m")
    (tmp_path / "m.npz").write_bytes(b"half a file")
    reg.scan()
    assert reg.get("m") is good
    assert reg.snapshot.ready
    assert "not an .npz archive" in reg.snapshot.refused["m"]
    assert "not an .npz archive" in reg.status()["m"]["refused"]
    # A later good file is swapped in and clears the refusal.
    replace_atomically(write_npz, tmp_path, _version(contract_arrays(name="m"), "20270101T000000Z"))
    reg.scan()
    assert reg.get("m").info.version == "20270101T000000Z"
    assert reg.snapshot.refused == {}


def test_added_and_removed_files(tmp_path, contract_arrays, write_npz):
    write_npz(tmp_path, contract_arrays(name="a"))
    reg = Registry(tmp_path, reload_interval=0)
    write_npz(tmp_path, contract_arrays(name="b"))
    (tmp_path / "a.npz").unlink()
    reg.scan()
    assert set(reg.snapshot.models) == {"b"}
    with pytest.raises(NotFoundError):
        reg.get("a")


def test_a_file_that_never_loaded_is_a_failure_until_fixed(tmp_path, contract_arrays, write_npz):
    (tmp_path / "m.npz").write_bytes(b"garbage")
    reg = Registry(tmp_path, reload_interval=0)
    assert not reg.snapshot.ready
    with pytest.raises(ModelUnavailableError):
        reg.get("m")
    replace_atomically(write_npz, tmp_path, contract_arrays(name="m"))
    reg.scan()
    assert reg.snapshot.ready and reg.get("m").info.name == "m"


def test_the_snapshot_rescans_by_itself_after_the_interval(tmp_path, contract_arrays, write_npz):
    write_npz(tmp_path, contract_arrays(name="a"))
    reg = Registry(tmp_path, reload_interval=0.05)
    write_npz(tmp_path, contract_arrays(name="b"))
    deadline = time.monotonic() + 5
    while "b" not in reg.snapshot.models and time.monotonic() < deadline:
        time.sleep(0.02)
    assert set(reg.snapshot.models) == {"a", "b"}
