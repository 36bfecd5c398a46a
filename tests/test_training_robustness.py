"""The robustness report: uploads under each condition read through the service's image path,
accuracies recorded in the model cards, plotted, tabled."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from robustness import report
from robustness.transforms import CANVAS, CONDITIONS
from service.engine import load_model


@pytest.mark.parametrize("condition", list(CONDITIONS))
def test_each_condition_gives_an_upload_the_service_reads(mnist_digits, condition) -> None:
    digits = mnist_digits[0][:8]
    uploads = CONDITIONS[condition](digits)
    assert uploads.shape == (8, CANVAS, CANVAS) and uploads.dtype == np.uint8
    X = report.uploads(condition, digits)
    assert X.shape == (8, 784) and X.dtype == np.float32
    assert X.min() >= 0 and X.max() <= 255 and X.max() > 200


def test_conditions_change_the_strokes(mnist_digits) -> None:
    digits = mnist_digits[0][:8]
    ink = {c: int((CONDITIONS[c](digits) > 127).sum()) for c in CONDITIONS}
    assert ink["stroke +2 px"] > 1.3 * ink["as drawn"] > 1.3**2 * ink["stroke -1 px"]


def test_report_is_recorded_in_the_cards(tmp_path, mnist_npz, mnist_digits) -> None:
    shutil.copy(mnist_npz, tmp_path / "mnist.npz")
    card = Path(mnist_npz).with_suffix(".json")
    (tmp_path / "mnist.json").write_text(card.read_text() if card.exists() else "{}")
    result = report.measure([tmp_path / "mnist.npz"], limit=50)
    assert result["n"] == 50 and result["conditions"] == list(CONDITIONS)
    accuracy = result["accuracy"]["mnist"]
    assert accuracy["as drawn"] >= 0.9
    report.record(result, tmp_path)
    report.plot(result, mnist_digits[0][0], tmp_path / "robustness.png")
    written = json.loads((tmp_path / "mnist.json").read_text())["robustness"]
    assert written["n"] == 50 and set(written["accuracy"]) == set(CONDITIONS)
    assert json.loads((tmp_path / "robustness.json").read_text()) == result
    assert (tmp_path / "robustness.png").stat().st_size > 0
    assert "| as drawn |" in report.table(result)
    load_model(tmp_path / "mnist.npz")  # the card with its new section still loads
